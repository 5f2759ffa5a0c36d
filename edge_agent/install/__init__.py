"""``myenergy-install``: the installers' command line at the meter panel (issue 7).

``scan`` finds the meter on the RS-485 bus, ``check`` judges the wiring from live
values, ``provision`` registers the module with the portal and writes the agent's
configuration, ``protocol`` makes the handover protocol (Appendix 2) or the
statement of findings (Appendix 3) and uploads it, ``sync`` sends what was kept
while the panel had no coverage. One module per command; ``cli`` wires them.
"""
