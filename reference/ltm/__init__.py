"""LTM, the Large Thought Model: a language model that thinks in thoughts.

Text is cut into thought units (:mod:`ltm.segment`), each unit becomes a point in a
continuous thought field, a field core computes the tension that carries the current
thought to the next, and a decoder says the thought again in any language. The data
layer (:mod:`ltm.pvq`, :mod:`ltm.segment`) is pure Python and imports no torch.
"""

__version__ = "0.1.0"
