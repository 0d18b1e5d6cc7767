# Sourced by scripts/serve and scripts/test: the one place that makes and refreshes .venv.
# ensure_venv SPEC STAMP: (re)create .venv if unusable and `pip install -e SPEC`
# unless STAMP already records this pyproject.toml and this checkout's path.
ensure_venv() {
    local spec=$1 stamp=.venv/$2 want
    if ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
        rm -rf .venv
        python3 -m venv .venv
    fi
    want="$(sha256sum pyproject.toml | cut -d' ' -f1) $PWD"
    if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
        echo "chatd: installing $spec into .venv" >&2
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" </dev/null
        printf '%s\n' "$want" >"$stamp"
    fi
}
