#!/usr/bin/env bash
# Runs weightguard, picklescan, modelscan and fickling over one corpus of malicious and benign
# pickle-based files (benches/pickle-corpus.py) in one run, and prints each tool's detection
# rate, files without a verdict, and false positives.
#
# The scanners come from PyPI into their own venv under target/ (created on first use); the
# corpus is written with the test venv's Python (numpy). Nothing in the corpus is ever loaded.
#   PYTHON=…   the Python with numpy (default: .venv/bin/python, as scripts/test sets up)
#   CORPUS=…   where to write the corpus (default: a temporary directory)
#   JOBS=N     cargo build jobs; WG=PATH uses that binary instead of building one
#   VERBOSE=1  lists every miss, file without a verdict and false positive
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
VENV=target/scanner-venv
if [[ ! -x $VENV/bin/fickling ]]; then
    python3 -m venv "$VENV"
    # fickling 0.1.12 imports typing_extensions without declaring it.
    "$VENV/bin/pip" install -q picklescan modelscan fickling typing_extensions
fi
if [[ -z ${WG:-} ]]; then
    cargo build -q --release --locked ${JOBS:+-j "$JOBS"}
    WG=target/release/weightguard
fi
CORPUS=${CORPUS:-$(mktemp -d)}
"$PYTHON" benches/pickle-corpus.py "$CORPUS" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verdict TOOL FILE: prints flagged, clean or none (an error, or the file was not scanned).
verdict() {
    local tool=$1 f=$2 rc out
    case $tool in
    weightguard)
        rc=0; "$WG" inspect --json "$f" >/dev/null 2>&1 || rc=$?
        case $rc in 6) echo flagged ;; 0) echo clean ;; *) echo none ;; esac ;;
    picklescan)
        rc=0; out=$("$VENV/bin/picklescan" --path "$f" 2>&1) || rc=$?
        if [[ $rc == 1 ]]; then echo flagged
        elif [[ $rc == 0 ]] && ! grep -q "Scanned files: 0" <<<"$out"; then echo clean
        else echo none; fi ;;
    modelscan)
        rc=0; "$VENV/bin/modelscan" -p "$f" >/dev/null 2>&1 || rc=$?
        case $rc in 1) echo flagged ;; 0) echo clean ;; *) echo none ;; esac ;;
    fickling)
        rc=0; (cd "$work" && "$OLDPWD/$VENV/bin/fickling" --check-safety "$f" >/dev/null 2>&1) || rc=$?
        case $rc in 1) echo flagged ;; 0) echo clean ;; *) echo none ;; esac ;;
    esac
}

version() {
    case $1 in
    weightguard) "$WG" --version | awk '{print $2}' ;;
    *) "$VENV/bin/pip" show "$1" 2>/dev/null | awk '/^Version:/ {print $2}' ;;
    esac
}

nmal=$(ls "$CORPUS/malicious" | wc -l)
nben=$(ls "$CORPUS/benign" | wc -l)
echo "corpus: $nmal malicious, $nben benign ($CORPUS)"
echo
echo "| tool | malicious detected | no verdict (malicious) | false positives (benign) | no verdict (benign) |"
echo "|---|---|---|---|---|"
misses=""
for tool in weightguard picklescan modelscan fickling; do
    det=0 nonemal=0 fp=0 noneben=0
    for f in "$CORPUS"/malicious/*; do
        case $(verdict $tool "$(realpath "$f")") in
        flagged) det=$((det + 1)) ;;
        none) nonemal=$((nonemal + 1)); misses+="$tool no-verdict $(basename "$f")"$'\n' ;;
        *) misses+="$tool missed $(basename "$f")"$'\n' ;;
        esac
    done
    for f in "$CORPUS"/benign/*; do
        case $(verdict $tool "$(realpath "$f")") in
        flagged) fp=$((fp + 1)); misses+="$tool false-positive $(basename "$f")"$'\n' ;;
        none) noneben=$((noneben + 1)) ;;
        esac
    done
    printf "| %s %s | %d/%d (%d%%) | %d | %d/%d (%d%%) | %d |\n" "$tool" "$(version $tool)" \
        $det "$nmal" $((100 * det / nmal)) $nonemal $fp "$nben" $((100 * fp / nben)) $noneben
done
if [[ ${VERBOSE:-} ]]; then
    echo
    printf "%s" "$misses"
fi
