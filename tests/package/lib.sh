# Helpers for tests/package/run: PASS/FAIL checks and a throwaway Debian 12 root to install
# the package into. Sourced, not run.

failures=0

pass() { printf 'PASS  %s\n' "$1"; }
fail() {
  printf 'FAIL  %s\n' "$1"
  [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/      /'
  failures=$((failures + 1))
}

# check NAME CMD...: CMD must exit 0.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

# check_eq NAME ACTUAL EXPECTED
check_eq() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $3"$'\n'"got:      $2"; fi
}

# check_has NAME TEXT NEEDLE: TEXT contains NEEDLE (a fixed string).
check_has() {
  if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1" "no \"$3\" in:"$'\n'"$2"; fi
}

# Runs a command inside the root with a clean environment; extra VAR=value pairs may come
# first. chroot and env both exec, so $! of `in_root … &` is the command's own pid.
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# The cached base: Debian 12 minbase plus everything the package depends on, built once per
# distinct Depends field by mmdebstrap (network to the Debian mirror needed only then).
cache_dir=${MLCRON_CI_CACHE:-/var/cache/mlcron-ci}
mirror=${MLCRON_DEBIAN_MIRROR:-http://deb.debian.org}

base_tarball() {
  local deb=$1 depends key tar
  depends=$(dpkg-deb -f "$deb" Depends)
  key=$(printf 'bookworm minbase v1\n%s\n' "$depends" | sha256sum | cut -c1-16)
  tar="$cache_dir/bookworm-$key.tar"
  if [ ! -s "$tar" ]; then
    mkdir -p "$cache_dir"
    echo "package test: building $tar (Debian 12 minbase + the package's dependencies)" >&2
    # The output's name must end in .tar: mmdebstrap picks the format from it.
    if ! mmdebstrap --quiet --variant=minbase \
      --customize-hook="chroot \"\$1\" apt-get satisfy -y --no-install-recommends '$depends'" \
      bookworm "$cache_dir/partial-$key.tar" \
      "deb $mirror/debian bookworm main" \
      "deb $mirror/debian bookworm-updates main" \
      "deb $mirror/debian-security bookworm-security main" >"$cache_dir/partial-$key.log" 2>&1
    then
      cat "$cache_dir/partial-$key.log" >&2
      return 1
    fi
    mv "$cache_dir/partial-$key.tar" "$tar"
    rm -f "$cache_dir/partial-$key.log"
  fi
  echo "$tar"
}

# Unpacks a fresh root under $work and mounts /proc in it (mlcrond reads /proc).
make_root() {
  root="$work/root"
  mkdir -p "$root"
  local base
  base=$(base_tarball "$1")
  tar -C "$root" -xf "$base"
  mount -t proc proc "$root/proc"
}

cleanup_root() {
  local pid
  for pid in ${daemon_pids:-}; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  if [ -n "${root:-}" ] && mountpoint -q "$root/proc"; then umount "$root/proc"; fi
  if [ -n "${work:-}" ] && [ -d "$work" ]; then rm -rf --one-file-system "$work"; fi
}

# Every path in the root but /proc and /tmp (where the test puts its packages).
list_files() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./tmp \) -prune -o -print) | cut -c2- |
    sort
}
