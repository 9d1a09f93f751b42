#!/usr/bin/env bash
# Smoke test of one platform image: a sandbox Gateway (with the connector's fake platform)
# in one container; the import in another that shares its network namespace, with the
# Gateway key, shop GUID and platform credentials piped to `docker run -i`.
set -euo pipefail
platform=$1
image=gateway-$platform:ci          # the production image runs the import
smoke_image=gateway-$platform:smoke  # the same plus the sandbox and the platform's fake
trap 'docker rm -f gw-smoke >/dev/null 2>&1 || true' EXIT

# The state volume is mounted here too: a fake that is a file (Subiekt GT's SQLite copy) lives
# where the import container sees it (GWSYNC_SMOKE_DIR); the others do not use it.
docker run -d --name gw-smoke -v "gwsync-smoke-$platform:/data" -e GWSYNC_SMOKE_DIR=/data \
  --entrypoint python "$smoke_image" -m gwsync.testing.smoke "$platform" --settings /tmp/settings
for _ in $(seq 60); do docker exec gw-smoke test -s /tmp/settings && break; sleep 1; done
settings=$(docker exec gw-smoke cat /tmp/settings)
env_args=()
while IFS= read -r line; do env_args+=(-e "$line"); done < <(sed -n 's/^env //p' <<<"$settings")
answers=$(sed -n 's/^answer //p' <<<"$settings")

run() {
  printf '%s\n' "$answers" | docker run -i --rm --network container:gw-smoke "${env_args[@]}" \
    -v "gwsync-smoke-$platform:/data" "$image" import
}
run
second=$(run)
echo "$second"
grep -q "created 0, updated 0" <<<"$second"
grep -q "archived 0" <<<"$second"
