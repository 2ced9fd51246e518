"""The ``evidex`` command line: a thin shell over library functions, one module per command."""
