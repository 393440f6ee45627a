"""Source text of small third-party plugin distributions the registry tests install."""

ENCODER = '''
from engine import Registration, hookimpl

@hookimpl
def register_encoders():
    return [Registration(kind="encoder", name="Acme_Upper", aliases=("shout",),
                         factory="acme_impl:UpperEncoder", summary="upper-cases strings")]
'''

ENCODER_IMPL = '''
import pyarrow as pa
import pyarrow.compute as pc


class UpperEncoder:
    """Upper-cases the string columns it is given; its fitted state is the column list."""

    def __init__(self, columns: list[str] | None = None, suffix: str = "") -> None:
        self.columns = columns
        self.suffix = suffix

    def fit(self, X, y=None):
        self.columns_ = list(self.columns or X.column_names)
        return self

    def transform(self, X):
        if not hasattr(self, "columns_"):
            from engine import NotFittedError
            raise NotFittedError("fit the encoder first")
        out = X
        for name in self.columns_:
            out = out.set_column(out.column_names.index(name), name + self.suffix, pc.utf8_upper(out.column(name)))
        return out

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def get_feature_names_out(self, input_features=None):
        return list(self.columns_)

    def to_state(self):
        return {"schema": 1, "columns": self.columns_, "suffix": self.suffix}

    @classmethod
    def from_state(cls, state):
        if state["schema"] > 1:
            from engine import StateError
            raise StateError("state schema is newer than this plugin reads")
        encoder = cls(columns=state["columns"], suffix=state["suffix"])
        encoder.columns_ = list(state["columns"])
        return encoder


class Exploding:
    """A plugin whose constructor fails, as a badly configured plugin would."""

    def __init__(self, level: int = 1) -> None:
        raise RuntimeError(f"cannot start at level {level}")
'''


def registering(kind_hook: str, kind: str, name: str, factory: str, **fields: object) -> str:
    """A plugin module whose `kind_hook` returns one registration."""
    extra = "".join(f", {k}={v!r}" for k, v in fields.items())
    return f'''
from engine import Registration, hookimpl

@hookimpl
def {kind_hook}():
    return [Registration(kind={kind!r}, name={name!r}, factory={factory!r}, summary="test plugin"{extra})]
'''


LEDGER = '''
"""A third party's source that says its parts: one per day of a ledger (`days`, read in that order)."""
import pyarrow as pa

from engine import Registration, hookimpl
from engine.kinds.source import TableSource


class Ledger(TableSource):
    """Twenty entries a day, for each of `days` in turn."""

    label = "ledger"

    def __init__(self, days=(1, 2, 3), columns=None, filters=None):
        super().__init__(columns=columns, filters=filters)
        self.days = [int(d) for d in days]

    def _load(self):
        return pa.table({"day": [d for d in self.days for _ in range(20)],
                         "entry": [e for _ in self.days for e in range(20)],
                         "amount": [float((d * 7 + e) % 5) for d in self.days for e in range(20)]})

    def parts(self):
        return [{"days": [d]} for d in self.days]


@hookimpl
def register_sources():
    return [Registration(kind="source", name="ledger", factory="acme_ledger:Ledger",
                         summary="a ledger's entries, a part per day", capabilities=("parts",))]
'''
