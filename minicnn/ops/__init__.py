"""The operators, one module per family; each is a Function plus its functional wrapper.

================  ======================================================"""
