#!/usr/bin/env bash
# Re-vendor the PWA's libraries from the npm registry at pinned versions (run by hand, output committed).
# Files are copied as published; only bare import specifiers ("preact", "preact/hooks", "@preact/signals-core")
# are rewritten to relative paths, because an import map would be an inline script, which the CSP forbids.
set -euo pipefail
cd "$(dirname "$0")/.."
out=pwa_static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pack() { (cd "$work" && npm pack --silent "$1" >/dev/null && mkdir -p "$2" && tar xzf ./*.tgz -C "$2" && rm ./*.tgz); }
pack preact@10.29.8 preact
pack htm@3.1.1 htm
pack @preact/signals-core@1.14.5 signals-core
pack @preact/signals@2.11.4 signals
pack idb@8.0.3 idb
pack tus-js-client@4.3.1 tus
rm -rf "$out/preact" "$out/htm" "$out/signals" "$out/idb" "$out/tus"
mkdir -p "$out/preact" "$out/htm" "$out/signals" "$out/idb" "$out/tus"
cp "$work/preact/package/dist/preact.module.js" "$out/preact/preact.js"
cp "$work/preact/package/hooks/dist/hooks.module.js" "$out/preact/hooks.js"
cp "$work/preact/package/LICENSE" "$out/preact/LICENSE"
cp "$work/htm/package/dist/htm.module.js" "$out/htm/htm.js"
cp "$work/htm/package/LICENSE" "$out/htm/LICENSE"
cp "$work/signals-core/package/dist/signals-core.module.js" "$out/signals/signals-core.js"
cp "$work/signals/package/dist/signals.module.js" "$out/signals/signals.js"
cp "$work/signals/package/LICENSE" "$out/signals/LICENSE"
cp "$work"/idb/package/build/*.js "$out/idb/"
rm -f "$out/idb/umd.js"
cp "$work/idb/package/LICENSE" "$out/idb/LICENSE"
cp "$work/tus/package/dist/tus.min.js" "$out/tus/tus.min.js"
cp "$work/tus/package/LICENSE" "$out/tus/LICENSE"
# bare specifiers -> relative paths
sed -i -E 's#from"preact"#from"./preact.js"#g; s#from "preact"#from "./preact.js"#g' "$out/preact/hooks.js"
sed -i -E 's#from"preact/hooks"#from"../preact/hooks.js"#g; s#from"preact"#from"../preact/preact.js"#g; s#from"@preact/signals-core"#from"./signals-core.js"#g' "$out/signals/signals.js"
sed -i -E 's#//\# sourceMappingURL=.*##' "$out"/*/*.js
grep -HnE 'from ?"[^.][^"]*"' "$out"/*/*.js && { echo "bare specifier left" >&2; exit 1; } || true
echo "vendored into $out"
