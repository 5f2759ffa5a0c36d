"""Runs first at every boot: keep it tiny (a bug here needs a serial cable to fix).

Nothing to set up before main.py: the CPU runs at its default 160/240 MHz and the
REPL stays on the USB UART for installers.
"""
