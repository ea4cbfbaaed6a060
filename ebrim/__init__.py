"""XDS metadata as plain Python objects, the ebRIM 3.0 transform both ways, and validation.

Pure: no I/O, no database, no HTTP. Everything else in the project speaks this vocabulary.
"""
