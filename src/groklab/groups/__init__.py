"""Finite groups as tasks: elements, composition, irreducible representations."""
