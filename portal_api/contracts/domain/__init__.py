"""Pure rules of the General Terms: each decision returns the clause and the numbers used."""
