"""The portal's pure domain: no FastAPI, no SQL, an injected clock.

``roles`` (who may do what), ``identifiers`` (EGN, LNCh, EIK, BULSTAT and how
they are kept secret), ``workdays`` (the Bulgarian working-day calendar).
"""
