"""Config review data: clean, parametrised base files per kind and defect injectors that know the
defect, the line it lands on, its message and its fix."""
