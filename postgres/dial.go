package postgres

import (
	"bufio"
	"context"
	"net"
	"time"
)

// bufferedDialer gives lib/pq connections that read from the socket in
// large pieces. lib/pq reads through a 4 KB buffer, a system call for every
// few rows; reading an object's 11 MB of segments spent a third of its time in
// them. Through a 128 KB buffer underneath, lib/pq's small reads are served
// from memory.
type bufferedDialer struct{ d net.Dialer }

func (b bufferedDialer) Dial(network, address string) (net.Conn, error) {
	return b.DialContext(context.Background(), network, address)
}

func (b bufferedDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return b.DialContext(ctx, network, address)
}

func (b bufferedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := b.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, 128<<10)}, nil
}

// bufferedConn is a connection whose reads go through r (writes, deadlines
// and closing go to the connection itself).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
