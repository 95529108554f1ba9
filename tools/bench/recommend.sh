#!/usr/bin/env bash
# Offline evaluation of the recommender (hit rate@10 on a time split of
# generated purchase histories, beside the popularity baseline), written to
# docs/benchmarks/recommend.md.
#
#   tools/bench/recommend.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
out=$(go test -run '^$' -bench RecommenderHitRate -benchtime 1x ./personalize | tee /dev/stderr | grep '^BenchmarkRecommenderHitRate')
hit=$(metric hit_rate_at_10); pop=$(metric popularity_hit_rate_at_10); n=$(metric customers_tested); train=$(metric train_baskets)
{
  echo "## Recommendations: hit rate@10 beside popularity"
  echo
  echo "Machine: $(machine). \`go test -bench RecommenderHitRate ./personalize\`: generated purchase histories"
  echo "(20,000 customers, 25 categories of 40 products with a long tail of popularity, customers keeping to a few"
  echo "categories, complements bought together, the sessions' product views), split in time: trained on everything"
  echo "before day 300 of 365 ($train customers' baskets, views included), tested on the first order after it of each"
  echo "of the $n customers with orders on both sides. A hit: a product of that order among the 10 recommended from"
  echo "what the customer had bought before."
  echo
  echo "| | hit rate@10 |"
  echo "| --- | ---: |"
  echo "| item-to-item (co-occurrence, cosine; popular in the country after) | $hit |"
  echo "| most popular products (baseline) | $pop |"
  echo
  echo "Item-to-item hits **$(awk -v a="$hit" -v b="$pop" 'BEGIN{printf "%.1f", a/b}')×** as often as popularity. The generator is Kith's own;"
  echo "it shares no scoring with the recommender, but real shops' data will differ — measure on yours with the same split."
} > docs/benchmarks/recommend.md
echo "wrote docs/benchmarks/recommend.md" >&2
