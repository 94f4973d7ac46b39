#!/bin/sh
# Writes OUTPUT (review_page.cc) from index.html, app.js, app.css and favicon.svg (the page's
# sources), each embedded byte for byte as a raw string literal. The build runs it
# (daemon/CMakeLists.txt) whenever one of them or this script changes; the output lives in the
# build tree and is not committed. Usage: embed.sh OUTPUT
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTPUT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
out=$1
for f in index.html app.js app.css favicon.svg; do
  if grep -q ')AWPAGE"' "$here/$f"; then echo "$f contains the raw string delimiter" >&2; exit 1; fi
done
mkdir -p "$(dirname "$out")"
{
  echo '// clang-format off'
  echo '// GENERATED at build time by daemon/review/page/embed.sh from daemon/review/page/'
  echo '// (index.html, app.js, app.css, favicon.svg). Edit those files, not this one.'
  echo '#include "daemon/review/review_page.h"'
  echo
  echo 'namespace abusewatch {'
  emit() {
    echo
    echo "std::string_view $1() {"
    printf '  static constexpr char kText[] = R"AWPAGE('
    cat "$here/$2"
    echo ')AWPAGE";'
    echo '  return {kText, sizeof(kText) - 1};'
    echo '}'
  }
  emit ReviewPageHtml index.html
  emit ReviewPageJs app.js
  emit ReviewPageCss app.css
  emit ReviewPageIcon favicon.svg
  echo
  echo '}  // namespace abusewatch'
} > "$out.tmp"
mv "$out.tmp" "$out"
