# Shared set-up for scripts/test, scripts/bench and scripts/run-stack.
# Sourced, not run: `source scripts/_setup.sh` from the repository root.
# Idempotent and fast on a second run: apt only when a package is missing, pip
# only when pyproject.toml changed, npm only when the lock file changed.

SETUP_START=$SECONDS
VENV=.venv
PY="$VENV/bin/python"

section() {
    printf '\n==> %s  [+%ss]\n' "$*" "$((SECONDS - SETUP_START))"
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@" # fails at once if sudo would ask for a password
    else
        die "needs root for: $* (run as root, or install sudo)"
    fi
}

_package_present() { # <package> [<command>]
    if [[ -n ${2:-} ]] && command -v "$2" >/dev/null 2>&1; then
        return 0
    fi
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

install_system_packages() {
    section "System packages (scripts/apt-packages.txt)"
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "warning: not Debian-like; make sure these are installed:" \
            "$(grep -v '^#' scripts/apt-packages.txt | awk '{print $1}' | xargs)" >&2
        return
    fi
    local missing=() package command
    while read -r package command _; do
        [[ -z $package || $package == \#* ]] && continue
        _package_present "$package" "$command" || missing+=("$package")
    done <scripts/apt-packages.txt
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "all present"
        return
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if [[ " ${missing[*]} " == *" mosquitto "* ]]; then
        # The package may start a system broker on port 1883. Tests start their
        # own brokers on free ports and never use it: stop it, keep it off.
        if [[ -d /run/systemd/system ]]; then
            as_root systemctl disable --now mosquitto >/dev/null 2>&1 || true
        fi
        as_root service mosquitto stop >/dev/null 2>&1 || true
    fi
    # Likewise the system InfluxDB (port 8086) and PostgreSQL (5432) the packages
    # start: tests run their own servers on free ports (tests/fixtures/) and never
    # use them.
    local service
    for service in influxdb postgresql; do
        if [[ " ${missing[*]} " == *" $service "* ]]; then
            if [[ -d /run/systemd/system ]]; then
                as_root systemctl disable --now "$service" >/dev/null 2>&1 || true
            fi
            as_root service "$service" stop >/dev/null 2>&1 || true
        fi
    done
}

ensure_venv() { # [<extras>]   e.g. ensure_venv test
    local extras=${1:-}
    section "Python environment ($VENV${extras:+, extras: $extras})"
    local python=${PYTHON:-python3}
    if [[ ! -x $PY ]] || ! "$PY" -c '' 2>/dev/null; then
        command -v "$python" >/dev/null 2>&1 || die "$python not found (Python 3.11 or newer needed)"
        "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
            die "$python is $("$python" -V 2>&1); Python 3.11 or newer needed (set PYTHON=...)"
        rm -rf "$VENV"
        "$python" -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
        echo "created $VENV with $("$PY" -V)"
    fi
    local target="."
    [[ -n $extras ]] && target=".[$extras]"
    local stamp="$VENV/.myenergy-install" want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1) $target"
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        echo "up to date ($target)"
        return
    fi
    "$PY" -m pip install --quiet --disable-pip-version-check --no-input --progress-bar off \
        -e "$target"
    echo "$want" >"$stamp"
    echo "installed $target"
}

install_node_packages() {
    local dir=tests/micropython
    [[ -f $dir/package-lock.json ]] || return 0
    section "Node packages ($dir)"
    command -v npm >/dev/null 2>&1 || die "npm not found (scripts/apt-packages.txt should have installed it)"
    local stamp="$dir/node_modules/.myenergy-lock" want
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        echo "up to date"
        return
    fi
    npm ci --prefix "$dir" --prefer-offline --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
}

install_micropython_stubs() {
    # The MicroPython ESP32 type stubs for the firmware's own mypy run (scripts/test).
    # Into a folder of their own, never the venv's site-packages: their stdlib stubs
    # (time, os, sys...) would shadow CPython's for the main mypy run.
    local requirements=firmware/host/stubs-requirements.txt target="$VENV/micropython-stubs"
    [[ -f $requirements ]] || return 0
    section "MicroPython stubs ($target)"
    local stamp="$target/.myenergy-stubs" want
    want=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        echo "up to date"
        return
    fi
    rm -rf "$target" # pip --target leaves an older release's files behind
    "$PY" -m pip install --quiet --disable-pip-version-check --no-input --progress-bar off \
        --no-deps --target "$target" -r "$requirements"
    echo "$want" >"$stamp"
    echo "installed $(grep -v '^#' "$requirements" | xargs)"
}
