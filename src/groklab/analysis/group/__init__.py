"""The group domain's science: composition in a finite group read on its irreps (representations),
the character program's fit and comparison (characters), and the single-model analysis (analyze)."""
