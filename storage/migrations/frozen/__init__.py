"""Frozen copies of the code the migrations ran when they were written.

A migration must do tomorrow what it did the day it was written, whatever becomes of the live code it
once called: so it imports from here, never from the models, the pipelines or the search code. Nothing
here changes once a migration depends on it; a new migration that needs newer code gets a new copy.
"""
