"""The contract engine of the MyEnergy General Terms (seed 001; issue 5).

``domain/`` is pure — plain dataclasses and functions, no FastAPI, no SQL, an
injected clock and calendar — and every rule names the clause it implements.
Persistence, the daily run and the pages are thin layers around it. Readings of
ambiguous clauses are in docs/contract-rules.md.
"""
