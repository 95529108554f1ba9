// Sends identify, page and track calls to Kith with Segment's own Node client,
// @segment/analytics-node, pointed at Kith by its host option, and prints what it
// sent (one JSON document) for the test to compare with what Kith stored.
const { Analytics } = require('@segment/analytics-node');

const analytics = new Analytics({ writeKey: process.env.KITH_WRITE_KEY, host: process.env.KITH_HOST, flushAt: 20, maxRetries: 3 });
const errors = [];
analytics.on('error', (err) => errors.push(String(err && (err.reason || err.message || err))));

const at = (s) => new Date(Date.now() - s * 1000);
const sent = [
  { call: 'identify', anonymousId: 'node-anon-0001', userId: 'node-user-1', messageId: 'node-identify-1', timestamp: at(30),
    traits: { email: 'node.client@example.com', firstName: 'Nodia' } },
  { call: 'page', anonymousId: 'node-anon-0001', messageId: 'node-page-1', name: 'Pricing', timestamp: at(20),
    properties: { url: 'https://shop.example/pricing', title: 'Pricing' } },
  { call: 'track', anonymousId: 'node-anon-0001', messageId: 'node-track-1', event: 'Product Viewed', timestamp: at(10),
    properties: { sku: 'SKU-42', price: 19.99, currency: 'EUR' } },
  { call: 'track', userId: 'node-user-1', messageId: 'node-track-2', event: 'Order Completed', timestamp: at(5),
    properties: { order_id: 'o-1', revenue: 39.98 } },
];
for (const m of sent) {
  const { call, ...params } = m;
  analytics[call](params);
}
analytics.closeAndFlush({ timeout: 20000 }).then(() => {
  process.stdout.write(JSON.stringify({ sent, errors }));
});
