#!/usr/bin/env bash
# Vendor the docs site's JavaScript so that it renders with no network at all.
#
# Fetches MathJax 3 and mermaid 11 from the npm registry with `npm pack` into a
# temporary folder and copies only the files the site loads, with their licences,
# into docs/assets/vendor/. Run it from anywhere; rerun it to update (then commit).
#
#   docs/vendor.sh                     # latest mathjax@3 and mermaid@11
#   MATHJAX=mathjax@3.2.2 MERMAID=mermaid@11.12.0 docs/vendor.sh
set -euo pipefail

MATHJAX=${MATHJAX:-mathjax@3}
MERMAID=${MERMAID:-mermaid@11}
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/assets/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

unpack() {  # unpack SPEC DIR: npm pack SPEC, untar into DIR, print "name version tarball sha512"
    (cd "$tmp" && npm pack --json --silent "$1" > "$2.json")
    mkdir -p "$tmp/$2"
    tar -xzf "$tmp/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["filename"])' "$tmp/$2.json")" \
        -C "$tmp/$2" --strip-components=1
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[0]; print(d["name"], d["version"], d["filename"], d["integrity"])' "$tmp/$2.json"
}

mj=$(unpack "$MATHJAX" mathjax)
mm=$(unpack "$MERMAID" mermaid)

rm -rf "$dest/mathjax" "$dest/mermaid"
# MathJax finds its fonts relative to the script: [mathjax]/output/chtml/fonts/woff-v2.
mkdir -p "$dest/mathjax/output/chtml/fonts/woff-v2" "$dest/mermaid"
cp "$tmp/mathjax/es5/tex-chtml.js" "$dest/mathjax/"
cp "$tmp/mathjax/es5/output/chtml/fonts/woff-v2/"*.woff "$dest/mathjax/output/chtml/fonts/woff-v2/"
cp "$tmp/mathjax/LICENSE" "$dest/mathjax/LICENSE"
cp "$tmp/mermaid/dist/mermaid.min.js" "$dest/mermaid/"
cp "$tmp/mermaid/LICENSE" "$dest/mermaid/LICENSE"

{
    echo "Vendored by docs/vendor.sh on $(date -u +%Y-%m-%d) from the npm registry (npm pack)."
    echo "Nothing here is edited by hand; rerun the script to update."
    echo
    echo "package  version  tarball  integrity"
    echo "$mj"
    echo "$mm"
    echo
    echo "Files (sha256):"
    (cd "$dest" && find mathjax mermaid -type f | sort | xargs sha256sum)
} > "$dest/VERSIONS.txt"

du -sh "$dest"
