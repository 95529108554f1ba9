# Sourced by the benchmark scripts: reading a Go benchmark's metrics and saying
# what machine they were measured on.

# metric NAME: the value reported before NAME on the benchmark line in $out.
metric() { awk -v m="$1" '{ for (i=1;i<=NF;i++) if ($i==m) print $(i-1) }' <<<"$out"; }

# machine: cores, CPU model, Go version and date, for a section's first line.
machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  echo "$(nproc) cores, ${cpu}; $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%d)"
}
