from tests.evaluation.conftest import ew  # noqa: F401  (experts and a world for lots that reach evaluation)
