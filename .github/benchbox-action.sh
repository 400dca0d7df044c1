#!/usr/bin/env bash
# The action's one real step (action.yml): run benchbox, then hand its exit code and verdict to the
# workflow. Kept as a script so it can be tested outside GitHub (tests/test_action.py runs it).
set -uo pipefail
: "${BENCHBOX_COMMAND:=smoke}" "${BENCHBOX_OUT:=benchbox-report}" "${BENCHBOX_TARGET:=}" "${BENCHBOX_ARGS:=}"
: "${GITHUB_OUTPUT:=/dev/null}"

case "$BENCHBOX_COMMAND" in
  smoke|run|compare) ;;
  *) echo "::error::bad command '$BENCHBOX_COMMAND': expected smoke, run or compare"
     echo "exit-code=2" >>"$GITHUB_OUTPUT"; exit 0 ;;
esac

# The user's flags, split as a shell would (quotes kept), without letting the shell expand them.
mapfile -t args < <(python -c 'import os, shlex; import sys; sys.stdout.write("".join(a + "\n" for a in shlex.split(os.environ["BENCHBOX_ARGS"])))')
cmd=(benchbox "$BENCHBOX_COMMAND")
[ -n "$BENCHBOX_TARGET" ] && cmd+=(--target "$BENCHBOX_TARGET")
cmd+=("${args[@]}" --out "$BENCHBOX_OUT")

"${cmd[@]}"
code=$?
verdict=$(python - "$BENCHBOX_OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
for name in ("result.json", "compare.json"):
    try:
        print(json.loads((out / name).read_text()).get("verdict", "error"))
        break
    except (OSError, ValueError):
        continue
else:
    print("error")
PY
)
{ echo "exit-code=$code"; echo "verdict=$verdict"; } >>"$GITHUB_OUTPUT"
echo "benchbox $BENCHBOX_COMMAND: verdict $verdict, exit $code"
exit 0  # the job fails in the action's last step, after the report is uploaded
