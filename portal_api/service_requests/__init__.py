"""Service requests of the Virtual Customer Service Centre (issue 6, seed 000).

A customer logged in with a PIK (or a password) asks a company of the group for a
service without an electronic signature, and follows its steps: ``catalogue``
names the services and their step sequences, ``models`` the tables, ``workflow``
submits, assigns, advances and rejects (an e-mail at every step), ``follow``
moves a MyEnergy request along with its contract's life.
"""
