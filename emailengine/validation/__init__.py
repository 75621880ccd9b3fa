"""`ee validate email`: syntax, domain MX/A, known suppression, role and disposable flags.

rules.py is pure (syntax, flags, the verdict); run.py does the DNS lookups, the suppression
look-ups and the streaming over large files.
"""
