#!/usr/bin/env bash
# Review a repository's configuration files with Aletheia's static rules (lsp/RULES.md) and write SARIF 2.1.0
# for GitHub code scanning or a GitLab artifact. Runs in the repository's root; needs `python -m lsp`
# (pip install '.[lsp]').
#
#   deploy/ci/config-check.sh [OUTPUT.sarif] [PATHSPEC...]
#
# PATHSPECs are git pathspecs (default: Dockerfiles, compose files, YAML, JSON, TOML, nginx and systemd files
# that git tracks, outside tests/). Prints the findings as text for the job log, writes OUTPUT.sarif
# (default aletheia.sarif), and exits as `python -m lsp check` does: 0 clean (warnings and infos allowed),
# 1 when a finding is an error, 2 when a file cannot be read.
set -uo pipefail

out=${1:-aletheia.sarif}
shift $(( $# > 0 ? 1 : 0 ))
if [ $# -eq 0 ]; then
    set -- ':(glob)**/Dockerfile*' ':(glob)**/Containerfile*' ':(glob)**/*.dockerfile' \
        ':(glob)**/*.yaml' ':(glob)**/*.yml' ':(glob)**/*.json' ':(glob)**/*.toml' \
        ':(glob)**/nginx.conf' ':(glob)**/sites-available/*' ':(glob)**/*.service' ':(glob)**/*.timer' \
        ':(glob)**/*.socket' ':(exclude,glob)tests/**' ':(exclude,glob)**/node_modules/**' \
        ':(exclude,glob)**/package-lock.json'
fi
python=${PYTHON:-python}

mapfile -t files < <(git ls-files -- "$@")
if [ ${#files[@]} -eq 0 ]; then
    echo "config-check: no tracked file matches ${*}; nothing to check" >&2
    exit 0
fi
echo "config-check: ${#files[@]} file(s)"
"$python" -m lsp check "${files[@]}"
"$python" -m lsp check --format sarif "${files[@]}" > "$out"
status=$?
echo "config-check: SARIF written to $out (exit $status)"
exit "$status"
