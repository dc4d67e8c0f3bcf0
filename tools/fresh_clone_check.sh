#!/usr/bin/env bash
# The README's two quick-start commands, verbatim, on a fresh clone of HEAD: no ../shared beside it,
# no venv, nothing installed by hand, none of CI's variables. Prints the tail of each command's output
# and exits non-zero when the demo does not report the 8 MiB error (exit 1) or the tests do not pass.
#
#   tools/fresh_clone_check.sh [REPO]      (default: the repository this script is in)
#
# The commands are read from README.md's "Quick start" (the first two ```sh blocks), so the check
# follows the README instead of a copy of it.
set -euo pipefail

repo="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
tail_lines="${TAIL_LINES:-15}"
work="$(mktemp -d "${TMPDIR:-/tmp}/cpualloc-fresh.XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone -q "$repo" "$work/cpualloc"   # HEAD of the repository, committed files only
cd "$work/cpualloc"
if [ -e ../shared ]; then
  echo "fresh_clone_check: ../shared exists beside the clone; refusing" >&2
  exit 2
fi
echo "fresh clone of $(git rev-parse --short HEAD) in $work/cpualloc (no ../shared)"

# The two commands: lines of the first two ```sh blocks after "## Quick start".
mapfile -t cmds < <(python3 - <<'EOF'
import re
text = open("README.md", encoding="utf-8").read()
quick = text[text.index("## Quick start"):]
quick = quick[:quick.index("\n## ", 3)]
blocks = re.findall(r"```sh\n(.*?)```", quick, re.S)
for b in blocks[:2]:
    print(b.strip().replace("\n", " ; "))
EOF
)
if [ "${#cmds[@]}" -ne 2 ]; then
  echo "fresh_clone_check: README's Quick start does not have two sh blocks" >&2
  exit 2
fi

# A fresh machine: none of CI's or a developer's variables; one shell for both commands, as the
# README says (the second runs in the virtual environment the first made).
clean_env=(env -u VIRTUAL_ENV -u CPUALLOC_LINUX_6_1 -u CPUALLOC_LINUX_6_12 -u CPUALLOC_REQUIRE_REAL
           -u PYTHONPATH -u CI PIP_DISABLE_PIP_VERSION_CHECK=1)
script=$(cat <<EOF
set +e
{ ${cmds[0]} ; } > "$work/demo.log" 2>&1
echo \$? > "$work/demo.rc"
{ ${cmds[1]} ; } > "$work/tests.log" 2>&1
echo \$? > "$work/tests.rc"
EOF
)
"${clean_env[@]}" bash -c "$script"

demo_rc=$(cat "$work/demo.rc")
tests_rc=$(cat "$work/tests.rc")
echo
echo "\$ ${cmds[0]}"
tail -n "$tail_lines" "$work/demo.log"
echo "[exit $demo_rc]"
echo
echo "\$ ${cmds[1]}"
tail -n "$tail_lines" "$work/tests.log"
echo "[exit $tests_rc]"

status=0
if [ "$demo_rc" != 1 ] || ! grep -q "ERROR sparc64.image-8mib" "$work/demo.log"; then
  echo "fresh_clone_check: FAIL: the demo should report ERROR sparc64.image-8mib and exit 1" >&2
  status=1
fi
if [ "$tests_rc" != 0 ]; then
  echo "fresh_clone_check: FAIL: the tests did not pass (exit $tests_rc)" >&2
  status=1
fi
[ "$status" = 0 ] && echo "fresh_clone_check: OK: the demo exits 1 with the 8 MiB error and the tests pass"
exit "$status"
