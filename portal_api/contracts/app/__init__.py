"""Application services of the contract engine: the operations the API and the pages call."""
