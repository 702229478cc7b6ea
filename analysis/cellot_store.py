"""Reading a cellot results store (docs/STORE.md) and the AnnData file it was run on, with h5py
and numpy only, so that analysis needs no cellot code and no anndata.

Used by analysis/figures; importable from other analysis scripts:

    import sys; sys.path.insert(0, "analysis")
    from cellot_store import Store, H5ad
"""

import configparser
import os

import h5py
import numpy as np

STATE_DONE = 2


def _strings(values):
    """Fixed-length byte strings or str objects from h5py as a list of str."""
    out = []
    for v in np.asarray(values).ravel():
        if isinstance(v, bytes):
            out.append(v.decode("utf-8", "replace").rstrip("\x00"))
        else:
            out.append(str(v))
    return out


def _attr_string(obj, name, default=""):
    if name not in obj.attrs:
        return default
    v = obj.attrs[name]
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return "\n".join(_strings(v))
    return str(v)


def _attr_strings(obj, name):
    if name not in obj.attrs:
        return []
    v = obj.attrs[name]
    if isinstance(v, (bytes, str)):
        return _strings([v])
    return _strings(v)


class Store:
    """The task table, states, metrics, curves and (optional) predictions of one store."""

    def __init__(self, path):
        self.path = path
        with h5py.File(path, "r") as f:
            if _attr_string(f, "format") != "cellot-store":
                raise ValueError(f"{path}: not a cellot results store (root attribute 'format')")
            plan = f["plan"]
            self.keys = _strings(plan["key"][:])
            self.perturbation = _strings(plan["perturbation"][:])
            self.model = _strings(plan["model"][:])
            self.fold = plan["fold"][:].astype(int)
            self.seed = plan["seed"][:].astype(np.uint64)
            self.perturbations = _attr_strings(plan, "perturbations")
            self.models = _attr_strings(plan, "models")
            self.features = _attr_strings(plan, "features")
            self.config_text = _attr_string(plan, "config")
            self.plan_hash = _attr_string(plan, "plan_hash")
            self.state = f["status/state"][:].astype(int)
            self.metric_names = _attr_strings(f["metrics"], "names")
            self.metrics = f["metrics/value"][:]
            self.curves = None
            if "curves" in f and "values" in f["curves"]:
                c = f["curves"]
                self.curves = {
                    "values": c["values"][:],
                    "count": c["count"][:].astype(int),
                    "columns": [s.split(",") if s else [] for s in _strings(c["columns"][:])],
                }
            self.predictions = None
            if "predictions" in f and "values" in f["predictions"]:
                p = f["predictions"]
                self.predictions = {
                    "cell": p["cell"][:],
                    "offset": p["offset"][:],
                    "count": p["count"][:],
                }
                self._prediction_values = p["values"][:]
            # Per-task mean changes from control (stores written before /effects: None).
            self.effects = None
            if "effects" in f:
                self.effects = {name: f["effects"][name][:] for name in f["effects"]}
        self.config = configparser.ConfigParser(interpolation=None)
        if self.config_text:
            self.config.read_string(self.config_text)

    def discrimination(self, iid=False):
        """[(task, score)]: cell-eval's discrimination score per done task (normalised rank of the
        task's own observed effect among those of its (model, fold, seed) by Euclidean distance to
        its predicted effect; 0 = nearest), from /effects (the iid pair with iid=True)."""
        if self.effects is None:
            return []
        pe = self.effects["iid_predicted" if iid else "predicted"]
        oe = self.effects["iid_observed" if iid else "observed"]
        ok = [t for t in range(self.size) if self.done(t) and np.isfinite(pe[t]).all() and np.isfinite(oe[t]).all()]
        out = []
        for t in ok:
            group = [j for j in ok if (self.model[j], self.fold[j], self.seed[j]) == (self.model[t], self.fold[t],
                                                                                     self.seed[t])]
            if len(group) < 2:
                continue
            d = np.linalg.norm(oe[group] - pe[t], axis=1)
            own = d[group.index(t)]
            closer = np.sum(d < own) + 0.5 * (np.sum(d == own) - 1)
            out.append((t, float(closer) / (len(group) - 1)))
        return out

    @property
    def size(self):
        return len(self.keys)

    def done(self, t):
        return self.state[t] == STATE_DONE

    def config_value(self, section, key, default=None):
        try:
            return self.config.get(section, key)
        except (configparser.NoSectionError, configparser.NoOptionError):
            return default

    def first_seed(self):
        return self.seed.min() if self.size else 0

    def task(self, perturbation, model, fold=0, seed=None):
        """Index of the done task (perturbation, model, fold, seed) or None."""
        seed = self.first_seed() if seed is None else seed
        for t in range(self.size):
            if (self.perturbation[t] == perturbation and self.model[t] == model and self.fold[t] == fold
                    and self.seed[t] == seed and self.done(t)):
                return t
        return None

    def has_predictions(self, t):
        return self.predictions is not None and t is not None and self.predictions["count"][t] > 0

    def prediction(self, t):
        """(cells x features float array, h5ad rows of the source cells) of task t."""
        p = self.predictions
        o, n = int(p["offset"][t]), int(p["count"][t])
        return self._prediction_values[o:o + n].astype(np.float64), p["cell"][o:o + n].astype(np.int64)

    def curve(self, t):
        """(column names, rows x columns array) of task t's training curve, or (None, None)."""
        if self.curves is None:
            return None, None
        n = int(self.curves["count"][t])
        cols = self.curves["columns"][t]
        if n <= 0 or not cols:
            return None, None
        return cols, self.curves["values"][t, :n, :len(cols)]

    def metric(self, name):
        """Column of metric `name` (NaN where not done)."""
        if name not in self.metric_names:
            raise KeyError(f"{self.path}: no metric '{name}' (have {', '.join(self.metric_names)})")
        v = self.metrics[:, self.metric_names.index(name)].astype(np.float64).copy()
        v[self.state != STATE_DONE] = np.nan
        return v

    def data_path(self):
        """The data file named by the store's config, resolved against the store's directory when
        the path is relative and does not exist from the current directory."""
        p = self.config_value("data", "path", "")
        if not p:
            return None
        if os.path.isabs(p) or os.path.exists(p):
            return p
        alt = os.path.join(os.path.dirname(os.path.abspath(self.path)), p)
        return alt if os.path.exists(alt) else p


class H5ad:
    """X, var names and one obs column of an .h5ad file (anndata >= 0.8 layout)."""

    def __init__(self, path, condition_key="condition"):
        self.path = path
        with h5py.File(path, "r") as f:
            self.X = self._read_x(f["X"])
            var = f["var"]
            index_key = _attr_string(var, "_index", "_index")
            self.features = _strings(var[index_key][:])
            self.condition = self._read_column(f["obs"], condition_key)

    @staticmethod
    def _read_x(x):
        if isinstance(x, h5py.Dataset):
            return x[:].astype(np.float64)
        enc = _attr_string(x, "encoding-type")
        shape = tuple(int(s) for s in x.attrs["shape"])
        data, indices, indptr = x["data"][:], x["indices"][:], x["indptr"][:]
        dense = np.zeros(shape, dtype=np.float64)
        if enc == "csr_matrix":
            for i in range(shape[0]):
                dense[i, indices[indptr[i]:indptr[i + 1]]] = data[indptr[i]:indptr[i + 1]]
        elif enc == "csc_matrix":
            for j in range(shape[1]):
                dense[indices[indptr[j]:indptr[j + 1]], j] = data[indptr[j]:indptr[j + 1]]
        else:
            raise ValueError(f"X: unsupported encoding-type '{enc}'")
        return dense

    def _read_column(self, obs, key):
        if key not in obs:
            raise KeyError(f"{self.path}: obs has no column '{key}'")
        col = obs[key]
        if isinstance(col, h5py.Group):  # categorical: categories + codes
            cats = np.array(_strings(col["categories"][:]), dtype=object)
            codes = col["codes"][:].astype(int)
            out = np.empty(len(codes), dtype=object)
            out[codes >= 0] = cats[codes[codes >= 0]]
            out[codes < 0] = ""
            return out
        return np.array(_strings(col[:]), dtype=object)

    def rows_of(self, condition):
        return np.nonzero(self.condition == condition)[0]


def preprocess_like(store, data):
    """The cells of `data` in the space the store's models worked in: with data.preprocess = 4i
    each feature is divided by its 75th percentile over all control cells, then log1p (as
    cellot's data layer does, numpy's default interpolation)."""
    X = data.X
    if store.config_value("data", "preprocess", "none") == "4i":
        control = store.config_value("data", "control", "control")
        scale = np.percentile(X[data.rows_of(control)], 75, axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        X = np.log1p(X / scale)
    return X
