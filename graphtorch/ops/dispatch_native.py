"""The operators' fast path in C: `a * b` on two plain float tensors in ~0.6 us, not ~0.95.

`dispatch.binary_operator`'s methods call `binary(op, cache, x, y)` first. It handles what
the Python fast path handles - `x` an exact Tensor on a NumPy array, `y` an exact Tensor of
the same dtype or a Python number, the op's cached promotion decision naming a ufunc, a
small array, outside any trace - and returns None for anything else, so the Python code
runs and gives the same result or raises PyTorch's error. It calls the ufunc with NumPy's
error state set to "ignore" (as `call`), makes the Tensor, and hands autograd recording and
op hooks back to Python (`finish`) when a grad mode, an operand or a hook asks for them.

A CPython extension built by the system C compiler against this interpreter and NumPy,
cached on disk (`native_build.PythonExtension`); without a compiler or Python's headers
the Python path runs. ``GRAPHTORCH_EAGER_NATIVE``: ``background`` (default: built off the
calling thread, used once ready), ``sync`` or ``0`` (never).
"""

from __future__ import annotations

from ..native_build import PythonExtension

SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

static PyTypeObject *tensor_type, *node_type;
static PyObject *trace_state, *errstate_var, *ignore_value, *grad_state, *op_hooks, *finish;
static PyObject *accumulate_node, *sequence, *no_edge;
static PyObject *op_info, *numpy_module, *finish_call, *as_array, *str_astype, *kernel_errors;
static PyObject *saved_output_ref;
static PyObject *str_tracer, *str_dict, *str_enabled, *str_accumulator, *zero;
static Py_ssize_t parallel_min;
static Py_ssize_t off_data, off_requires_grad, off_grad_fn, off_output_nr, off_grad, off_base,
                  off_vc;
static Py_ssize_t off_next_functions, off_sequence_nr, off_op, off_attrs, off_saved_inputs,
                  off_saved_outputs, off_freed, off_in_info, off_out_info;

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))
#define MAX_INPUTS 16

static int slot_offset_of(PyTypeObject *type, const char *name, Py_ssize_t *out) {
    PyObject *d = PyObject_GetAttrString((PyObject *)type, name);
    if (d == NULL) return -1;
    if (Py_TYPE(d) != &PyMemberDescr_Type ||
        ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
        Py_DECREF(d);
        PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, name);
        return -1;
    }
    *out = ((PyMemberDescrObject *)d)->d_member->offset;
    Py_DECREF(d);
    return 0;
}

static int slot_offset(const char *name, Py_ssize_t *out) {
    return slot_offset_of(tensor_type, name, out);
}

static int node_slot(const char *name, Py_ssize_t *out) {
    return slot_offset_of(node_type, name, out);
}

/* setup(Tensor, trace_state, errstate_var, ignore, grad_state, op_hooks, finish, min,
         OpNode, accumulate_node, sequence, no_edge) */
static PyObject *setup(PyObject *self, PyObject *args) {
    PyObject *tt, *nt;
    if (!PyArg_ParseTuple(args, "O!OOOOO!OnO!OOO", &PyType_Type, &tt, &trace_state,
                          &errstate_var, &ignore_value, &grad_state, &PyList_Type, &op_hooks,
                          &finish, &parallel_min, &PyType_Type, &nt, &accumulate_node,
                          &sequence, &no_edge))
        return NULL;
    tensor_type = (PyTypeObject *)tt;
    node_type = (PyTypeObject *)nt;
    Py_INCREF(tt); Py_INCREF(trace_state); Py_INCREF(errstate_var); Py_INCREF(ignore_value);
    Py_INCREF(grad_state); Py_INCREF(op_hooks); Py_INCREF(finish); Py_INCREF(nt);
    Py_INCREF(accumulate_node); Py_INCREF(sequence); Py_INCREF(no_edge);
    if (slot_offset("_data", &off_data) || slot_offset("_requires_grad", &off_requires_grad) ||
        slot_offset("_grad_fn", &off_grad_fn) || slot_offset("_output_nr", &off_output_nr) ||
        slot_offset("_grad", &off_grad) || slot_offset("_base", &off_base) ||
        slot_offset("_vc", &off_vc) || node_slot("next_functions", &off_next_functions) ||
        node_slot("_sequence_nr", &off_sequence_nr) || node_slot("op", &off_op) ||
        node_slot("attrs", &off_attrs) || node_slot("saved_inputs", &off_saved_inputs) ||
        node_slot("saved_outputs", &off_saved_outputs) || node_slot("_freed", &off_freed) ||
        node_slot("_in_info", &off_in_info) || node_slot("_out_info", &off_out_info))
        return NULL;
    Py_RETURN_NONE;
}

/* The (node, output_nr) edge a gradient for the plain tensor `t` flows into. */
static PyObject *edge_of(PyObject *t) {
    if (SLOT(t, off_requires_grad) != Py_True) { Py_INCREF(no_edge); return no_edge; }
    PyObject *fn = SLOT(t, off_grad_fn);
    if (fn != NULL && fn != Py_None) {
        PyObject *nr = SLOT(t, off_output_nr);
        if (nr == NULL) { PyErr_SetString(PyExc_AttributeError, "_output_nr"); return NULL; }
        return PyTuple_Pack(2, fn, nr);
    }
    /* a leaf: its live AccumulateGrad (t.__dict__["_accumulator"]()), else Python's
       accumulate_node makes one */
    PyObject *node = NULL, *dict = PyObject_GenericGetDict(t, NULL);
    if (dict == NULL) return NULL;
    PyObject *ref = PyDict_GetItemWithError(dict, str_accumulator);
    if (ref != NULL && PyWeakref_CheckRefExact(ref)) {
        PyObject *live = PyWeakref_GetObject(ref);  /* borrowed; Py_None once dead */
        if (live != NULL && live != Py_None) { Py_INCREF(live); node = live; }
    }
    Py_DECREF(dict);
    if (PyErr_Occurred()) { Py_XDECREF(node); return NULL; }
    if (node == NULL && (node = PyObject_CallOneArg(accumulate_node, t)) == NULL) return NULL;
    PyObject *edge = PyTuple_Pack(2, node, zero);
    Py_DECREF(node);
    return edge;
}

/* (shape, dtype) of an array, as record() keeps it. Immutable, so shared between nodes:
   a few recent ones are kept and reused, which spares the garbage collector two tracked
   tuples per operand per op (with recorded results kept alive, collections cost ~40% of a
   recorded op otherwise). */
#define INFO_CACHE 8
#define INFO_MAX_DIMS 8
static struct {
    PyObject *info;
    PyArray_Descr *descr;
    int nd;
    npy_intp dims[INFO_MAX_DIMS];
} info_cache[INFO_CACHE];
static int info_next;

static PyObject *info_of(PyObject *array) {
    PyArrayObject *arr = (PyArrayObject *)array;
    int nd = PyArray_NDIM(arr);
    PyArray_Descr *descr = PyArray_DESCR(arr);
    npy_intp *dims = PyArray_DIMS(arr);
    if (nd <= INFO_MAX_DIMS) {
        for (int k = 0; k < INFO_CACHE; k++) {
            if (info_cache[k].info != NULL && info_cache[k].descr == descr &&
                info_cache[k].nd == nd &&
                (nd == 0 || memcmp(info_cache[k].dims, dims, nd * sizeof(npy_intp)) == 0)) {
                Py_INCREF(info_cache[k].info);
                return info_cache[k].info;
            }
        }
    }
    PyObject *shape = PyTuple_New(nd);
    if (shape == NULL) return NULL;
    for (int i = 0; i < nd; i++) {
        PyObject *n = PyLong_FromSsize_t(dims[i]);
        if (n == NULL) { Py_DECREF(shape); return NULL; }
        PyTuple_SET_ITEM(shape, i, n);
    }
    PyObject *info = PyTuple_Pack(2, shape, (PyObject *)descr);
    Py_DECREF(shape);
    if (info != NULL && nd <= INFO_MAX_DIMS) {
        int k = info_next;
        info_next = (info_next + 1) % INFO_CACHE;
        Py_XDECREF(info_cache[k].info);
        Py_XDECREF((PyObject *)info_cache[k].descr);
        Py_INCREF(info); info_cache[k].info = info;
        Py_INCREF((PyObject *)descr); info_cache[k].descr = descr;
        info_cache[k].nd = nd;
        if (nd) memcpy(info_cache[k].dims, dims, nd * sizeof(npy_intp));
    }
    return info;
}

/* A tuple of one or two info objects, reused while the operands' infos repeat. */
static PyObject *last_pair, *last_single;

static PyObject *infos(PyObject *first, PyObject *second) {
    PyObject **last = second == NULL ? &last_single : &last_pair;
    PyObject *cached = *last;
    if (cached != NULL && PyTuple_GET_ITEM(cached, 0) == first &&
        (second == NULL || PyTuple_GET_ITEM(cached, 1) == second)) {
        Py_INCREF(cached);
        return cached;
    }
    PyObject *made = second == NULL ? PyTuple_Pack(1, first) : PyTuple_Pack(2, first, second);
    if (made != NULL) {
        Py_XDECREF(*last);
        Py_INCREF(made);
        *last = made;
    }
    return made;
}

/* Whether the tuple of ints `indexes` holds i. */
static int holds(PyObject *indexes, Py_ssize_t i) {
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(indexes); k++) {
        PyObject *v = PyTuple_GET_ITEM(indexes, k);
        if (PyLong_CheckExact(v) && PyLong_AsSsize_t(v) == i) return 1;
    }
    return 0;
}

/* record() in C for one float output and inputs that are exact Tensors without a view
   base or Python numbers: the same OpNode. save_inputs: the op's tuple of saved input
   indexes; save_output: 0 none, 1 the output, 2 a placeholder (a tuple without 0). */
static int record_plain(PyObject *op, PyObject *const *xs, Py_ssize_t n, PyObject *t,
                        PyObject *save_inputs, int save_output) {
    PyObject *edges = NULL, *in_info = NULL, *out_one = NULL, *out_info = NULL,
             *saved = NULL, *saved_out = NULL, *attrs = NULL, *nr = NULL, *node = NULL;
    PyObject *infos_n[MAX_INPUTS];
    int status = -1;
    if (n > MAX_INPUTS) { PyErr_SetString(PyExc_RuntimeError, "too many inputs"); return -1; }
    for (Py_ssize_t i = 0; i < n; i++) infos_n[i] = NULL;
    if ((edges = PyTuple_New(n)) == NULL || (saved = PyTuple_New(n)) == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = xs[i], *edge, *keep;
        int is_tensor = Py_TYPE(x) == tensor_type;
        if (is_tensor) {
            if ((edge = edge_of(x)) == NULL) goto done;
            PyTuple_SET_ITEM(edges, i, edge);
            if ((infos_n[i] = info_of(SLOT(x, off_data))) == NULL) goto done;
            keep = holds(save_inputs, i) ? PyTuple_Pack(2, x, SLOT(x, off_vc)) : Py_NewRef(Py_None);
        } else {
            PyTuple_SET_ITEM(edges, i, Py_NewRef(no_edge));
            infos_n[i] = Py_NewRef(Py_None);
            keep = Py_NewRef(holds(save_inputs, i) ? x : Py_None);
        }
        if (keep == NULL) goto done;
        PyTuple_SET_ITEM(saved, i, keep);
    }
    /* (i, j, ...) rules (OpDef.saved_for): input i stays saved only if an input j has an
       edge, i.e. a gradient that reads it is recorded */
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(save_inputs); k++) {
        PyObject *rule = PyTuple_GET_ITEM(save_inputs, k);
        if (!PyTuple_CheckExact(rule) || PyTuple_GET_SIZE(rule) < 2) continue;
        Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(rule, 0)), read = 0;
        if (i < 0 || i >= n) continue;
        for (Py_ssize_t r = 1; r < PyTuple_GET_SIZE(rule); r++) {
            Py_ssize_t j = PyLong_AsSsize_t(PyTuple_GET_ITEM(rule, r));
            if (j >= 0 && j < n && PyTuple_GET_ITEM(edges, j) != no_edge) read = 1;
        }
        if (!read) {
            PyObject *old = PyTuple_GET_ITEM(saved, i);
            PyTuple_SET_ITEM(saved, i, Py_NewRef(Py_None));
            Py_DECREF(old);
        }
    }
    if (n == 1) in_info = infos(infos_n[0], NULL);
    else if (n == 2) in_info = infos(infos_n[0], infos_n[1]);
    else {
        if ((in_info = PyTuple_New(n)) != NULL)
            for (Py_ssize_t i = 0; i < n; i++) PyTuple_SET_ITEM(in_info, i, Py_NewRef(infos_n[i]));
    }
    if (in_info == NULL) goto done;
    PyObject *out_array = SLOT(t, off_data);
    if ((out_one = info_of(out_array)) == NULL) goto done;
    if ((out_info = infos(out_one, NULL)) == NULL) goto done;
    if (save_output == 1) {
        PyObject *ref = PyObject_CallOneArg(saved_output_ref, t);  /* graph.SavedOutputRef */
        if (ref == NULL) goto done;
        PyObject *entry = PyTuple_Pack(3, out_array, ref, SLOT(t, off_vc));
        Py_DECREF(ref);
        if (entry == NULL) goto done;
        saved_out = PyTuple_Pack(1, entry);
        Py_DECREF(entry);
        if (saved_out == NULL) goto done;
    } else if (save_output == 2) {
        PyObject *entry = PyTuple_Pack(3, Py_None, Py_None, zero);
        if (entry == NULL) goto done;
        saved_out = PyTuple_Pack(1, entry);
        Py_DECREF(entry);
        if (saved_out == NULL) goto done;
    } else {
        saved_out = Py_NewRef(Py_None);
    }
    if ((attrs = PyDict_New()) == NULL) goto done;
    if ((nr = PyIter_Next(sequence)) == NULL) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "sequence ended");
        goto done;
    }
    if ((node = node_type->tp_alloc(node_type, 0)) == NULL) goto done;
    SLOT(node, off_next_functions) = edges; edges = NULL;
    SLOT(node, off_sequence_nr) = nr; nr = NULL;
    SLOT(node, off_op) = Py_NewRef(op);
    SLOT(node, off_attrs) = attrs; attrs = NULL;
    SLOT(node, off_saved_inputs) = saved; saved = NULL;
    SLOT(node, off_saved_outputs) = saved_out; saved_out = NULL;
    SLOT(node, off_freed) = Py_NewRef(Py_False);
    SLOT(node, off_in_info) = in_info; in_info = NULL;
    SLOT(node, off_out_info) = out_info; out_info = NULL;
    PyObject *old = SLOT(t, off_grad_fn);
    SLOT(t, off_grad_fn) = node; node = NULL;
    Py_XDECREF(old);
    old = SLOT(t, off_requires_grad);
    SLOT(t, off_requires_grad) = Py_NewRef(Py_True);
    Py_XDECREF(old);
    status = 0;
done:
    for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(infos_n[i]);
    Py_XDECREF(edges); Py_XDECREF(in_info); Py_XDECREF(out_one); Py_XDECREF(out_info);
    Py_XDECREF(saved); Py_XDECREF(saved_out); Py_XDECREF(attrs); Py_XDECREF(nr);
    Py_XDECREF(node);
    return status;
}

/* Whether the calling thread is inside a trace: trace_state.__dict__.get("tracer"). */
static int tracing(void) {
    PyObject *dict = PyObject_GetAttr(trace_state, str_dict);
    if (dict == NULL) { PyErr_Clear(); return 1; }
    PyObject *tracer = PyDict_Check(dict) ? PyDict_GetItem(dict, str_tracer) : Py_None;
    int inside = tracer != NULL && tracer != Py_None;
    Py_DECREF(dict);
    return inside;
}

/* Whether every slot this file reads of the tensor t is set. */
static int complete(PyObject *t) {
    return SLOT(t, off_requires_grad) != NULL && SLOT(t, off_base) != NULL &&
        SLOT(t, off_vc) != NULL && SLOT(t, off_grad_fn) != NULL &&
        SLOT(t, off_output_nr) != NULL;
}

/* A new Tensor on `array` (a reference stolen) with call's fresh-output fields. */
static PyObject *new_tensor(PyObject *array) {
    PyObject *t = tensor_type->tp_alloc(tensor_type, 0);
    if (t == NULL) { Py_DECREF(array); return NULL; }
    SLOT(t, off_data) = array;
    Py_INCREF(Py_False); SLOT(t, off_requires_grad) = Py_False;
    Py_INCREF(Py_None); SLOT(t, off_grad_fn) = Py_None;
    Py_INCREF(zero); SLOT(t, off_output_nr) = zero;
    Py_INCREF(Py_None); SLOT(t, off_grad) = Py_None;
    Py_INCREF(Py_None); SLOT(t, off_base) = Py_None;
    Py_INCREF(zero); SLOT(t, off_vc) = zero;
    return t;
}

/* binary(op, cache, saves, x, y): the Tensor op(x, y), or None: take the Python path.
   saves: the op's saved input indexes when its node can be built here, else None. */
static PyObject *binary(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || tensor_type == NULL) Py_RETURN_NONE;
    PyObject *op = args[0], *cache = args[1], *saves = args[2], *x = args[3], *y = args[4];
    if (Py_TYPE(x) != tensor_type || !PyDict_CheckExact(cache)) Py_RETURN_NONE;
    PyObject *a = SLOT(x, off_data);
    if (a == NULL || Py_TYPE(a) != &PyArray_Type || !complete(x)) Py_RETURN_NONE;
    PyArray_Descr *d = PyArray_DESCR((PyArrayObject *)a);
    PyObject *hit = PyDict_GetItem(cache, (PyObject *)d);
    if (hit == NULL || !PyTuple_CheckExact(hit) || PyTuple_GET_SIZE(hit) != 3)
        Py_RETURN_NONE;
    PyObject *ufunc = PyTuple_GET_ITEM(hit, 2);  /* set only for a float dtype kept as is */
    if (ufunc == Py_None || PyArray_SIZE((PyArrayObject *)a) >= parallel_min)
        Py_RETURN_NONE;
    PyObject *b;
    int y_tensor = Py_TYPE(y) == tensor_type;
    if (y_tensor) {
        b = SLOT(y, off_data);
        if (b == NULL || Py_TYPE(b) != &PyArray_Type ||
            PyArray_DESCR((PyArrayObject *)b) != d || !complete(y))
            Py_RETURN_NONE;
    } else if (PyFloat_CheckExact(y) || PyLong_CheckExact(y) || PyBool_Check(y)) {
        b = y;
    } else {
        Py_RETURN_NONE;
    }
    if (tracing()) Py_RETURN_NONE;

    PyObject *token = PyContextVar_Set(errstate_var, ignore_value);
    if (token == NULL) return NULL;
    PyObject *operands[2] = {a, b};
    PyObject *out = PyObject_Vectorcall(ufunc, operands, 2, NULL);
    int reset = PyContextVar_Reset(errstate_var, token);
    Py_DECREF(token);
    if (reset < 0) { Py_XDECREF(out); return NULL; }
    if (out == NULL) { PyErr_Clear(); Py_RETURN_NONE; }  /* Python raises PyTorch's error */
    if (Py_TYPE(out) != &PyArray_Type || PyArray_DESCR((PyArrayObject *)out) != d) {
        Py_DECREF(out);  /* a 0-d scalar or another dtype: Python wraps it as `call` */
        Py_RETURN_NONE;
    }
    PyObject *t = new_tensor(out);
    if (t == NULL) return NULL;

    int autograd = SLOT(x, off_requires_grad) == Py_True || SLOT(x, off_base) != Py_None ||
        (y_tensor && (SLOT(y, off_requires_grad) == Py_True || SLOT(y, off_base) != Py_None));
    if (autograd) {
        PyObject *enabled = PyObject_GetAttr(grad_state, str_enabled);
        if (enabled == NULL) { Py_DECREF(t); return NULL; }
        autograd = PyObject_IsTrue(enabled);
        Py_DECREF(enabled);
        if (autograd < 0) { Py_DECREF(t); return NULL; }
    }
    int hooks = PyList_GET_SIZE(op_hooks) > 0;
    if (autograd && !hooks && PyTuple_CheckExact(saves) &&
        SLOT(x, off_base) == Py_None && (!y_tensor || SLOT(y, off_base) == Py_None)) {
        PyObject *xs[2] = {x, y};
        if (record_plain(op, xs, 2, t, saves, 0) < 0) {
            Py_DECREF(t);
            return NULL;
        }
        return t;
    }
    if (autograd || hooks) {
        PyObject *fargs[4] = {op, x, y, t};
        PyObject *done = PyObject_Vectorcall(finish, fargs, 4, NULL);
        if (done == NULL) { Py_DECREF(t); return NULL; }
        Py_DECREF(done);
    }
    return t;
}

/* setup_call(op_info, numpy, finish_call, as_array, SavedOutputRef): binds `call`'s state.
   op_info maps an OpDef to (dtype_cache, promotes, num_outputs, is_view, has_vjp, eligible,
   kernel, save_inputs, save_output mode, one plain differentiable output). */
static PyObject *setup_call(PyObject *self, PyObject *args) {
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyDict_Type, &op_info, &numpy_module, &finish_call,
                          &as_array, &saved_output_ref))
        return NULL;
    Py_INCREF(op_info); Py_INCREF(numpy_module); Py_INCREF(finish_call); Py_INCREF(as_array);
    Py_INCREF(saved_output_ref);
    kernel_errors = PyTuple_Pack(4, PyExc_RuntimeError, PyExc_IndexError, PyExc_TypeError,
                                 PyExc_NotImplementedError);
    if (kernel_errors == NULL) return NULL;
    Py_RETURN_NONE;
}

/* An output array as call keeps it: ndarray as is, NumPy scalars through _as_array; cast
   to `dtype` (None: keep) when the kernel widened it. Steals `out`. */
static PyObject *output_array(PyObject *out, PyObject *dtype) {
    if (Py_TYPE(out) != &PyArray_Type) {
        PyObject *array = PyObject_CallOneArg(as_array, out);
        Py_DECREF(out);
        if (array == NULL) return NULL;
        out = array;
    }
    if (dtype != Py_None && PyArray_Check(out) &&
        (PyObject *)PyArray_DESCR((PyArrayObject *)out) != dtype) {
        int same = PyObject_RichCompareBool((PyObject *)PyArray_DESCR((PyArrayObject *)out),
                                            dtype, Py_EQ);
        if (same < 0) { Py_DECREF(out); return NULL; }
        if (!same) {
            PyObject *cast = PyObject_CallMethodOneArg(out, str_astype, dtype);
            Py_DECREF(out);
            return cast;
        }
    }
    return out;
}

/* call(op, inputs, attrs): dispatch.call's fast path - exact NumPy arrays of one dtype
   (Tensors, subclasses too) plus Python numbers, the op's cached promotion decision, no
   trace; the kernel (or the op's ufunc) runs here, views, autograd and hooks go to
   Python's finish_call. None: take the Python path (nothing has run). */
static PyObject *call(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || op_info == NULL) Py_RETURN_NONE;
    PyObject *op = args[0], *inputs = args[1], *attrs = args[2];
    PyObject *info = PyDict_GetItem(op_info, op);
    if (info == NULL || !PyTuple_CheckExact(inputs) || !PyDict_CheckExact(attrs))
        Py_RETURN_NONE;
    PyObject *cache = PyTuple_GET_ITEM(info, 0);
    int promotes = PyTuple_GET_ITEM(info, 1) == Py_True;
    long num_outputs = PyLong_AsLong(PyTuple_GET_ITEM(info, 2));
    int is_view = PyTuple_GET_ITEM(info, 3) == Py_True;
    int has_vjp = PyTuple_GET_ITEM(info, 4) == Py_True;
    if (PyTuple_GET_ITEM(info, 5) != Py_True) Py_RETURN_NONE;
    PyObject *kernel = PyTuple_GET_ITEM(info, 6);
    Py_ssize_t n = PyTuple_GET_SIZE(inputs);
    if (n == 0 || n > MAX_INPUTS) Py_RETURN_NONE;

    PyObject *operands[MAX_INPUTS + 1];
    operands[0] = numpy_module;
    PyArray_Descr *first = NULL;
    PyArrayObject *first_array = NULL;
    int scalars = 0, plain = 1;  /* plain: exact Tensors without a view base or grad */
    int simple = 1;  /* simple: exact Tensors without a view base (record_plain's inputs) */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(inputs, i);
        if (Py_TYPE(x) == tensor_type || PyObject_TypeCheck(x, tensor_type)) {
            PyObject *a = SLOT(x, off_data);
            if (a == NULL || Py_TYPE(a) != &PyArray_Type || !complete(x)) Py_RETURN_NONE;
            PyArray_Descr *d = PyArray_DESCR((PyArrayObject *)a);
            if (d->kind == 'V') Py_RETURN_NONE;  /* bfloat16: computed in float32 by Python */
            if (first == NULL) { first = d; first_array = (PyArrayObject *)a; }
            else if (d != first) Py_RETURN_NONE;
            if (Py_TYPE(x) != tensor_type || SLOT(x, off_base) != Py_None) simple = 0;
            if (!simple || SLOT(x, off_requires_grad) == Py_True) plain = 0;
            operands[i + 1] = a;
        } else if (!promotes || PyFloat_CheckExact(x) || PyLong_CheckExact(x) ||
                   PyBool_Check(x)) {
            scalars = 1;
            operands[i + 1] = x;
        } else {
            Py_RETURN_NONE;
        }
    }
    if (first == NULL) Py_RETURN_NONE;
    PyObject *ufunc = Py_None, *out_dtype = Py_None;
    if (promotes) {
        PyObject *hit = PyDict_GetItem(cache, (PyObject *)first);
        if (hit == NULL || !PyTuple_CheckExact(hit) || PyTuple_GET_SIZE(hit) != 3 ||
            PyTuple_GET_ITEM(hit, 0) != (PyObject *)first)
            Py_RETURN_NONE;
        if (scalars && first->kind != 'f') Py_RETURN_NONE;
        out_dtype = PyTuple_GET_ITEM(hit, 1);
        if (num_outputs != 1 && out_dtype != Py_None) Py_RETURN_NONE;
        if (PyDict_GET_SIZE(attrs) == 0) ufunc = PyTuple_GET_ITEM(hit, 2);
        if (ufunc != Py_None && PyArray_SIZE(first_array) >= parallel_min)
            Py_RETURN_NONE;  /* Python splits it over the thread pool */
    }
    if (tracing()) Py_RETURN_NONE;

    PyObject *token = PyContextVar_Set(errstate_var, ignore_value);
    if (token == NULL) return NULL;
    PyObject *out;
    if (ufunc != Py_None) {
        out = PyObject_Vectorcall(ufunc, operands + 1, n, NULL);
    } else if (PyDict_GET_SIZE(attrs) == 0) {
        out = PyObject_Vectorcall(kernel, operands, n + 1, NULL);
    } else {
        PyObject *argtuple = PyTuple_New(n + 1);
        if (argtuple == NULL) { out = NULL; }
        else {
            for (Py_ssize_t i = 0; i <= n; i++) {
                Py_INCREF(operands[i]);
                PyTuple_SET_ITEM(argtuple, i, operands[i]);
            }
            out = PyObject_Call(kernel, argtuple, attrs);
            Py_DECREF(argtuple);
        }
    }
    int reset = PyContextVar_Reset(errstate_var, token);
    Py_DECREF(token);
    if (reset < 0) { Py_XDECREF(out); return NULL; }
    if (out == NULL) {
        if (PyErr_ExceptionMatches(kernel_errors)) return NULL;  /* PyTorch's own errors */
        PyErr_Clear();  /* a NumPy error: Python runs it again and explains it */
        Py_RETURN_NONE;
    }

    PyObject *outputs, *result;
    if (num_outputs == 1) {
        PyObject *array = output_array(out, out_dtype);
        if (array == NULL) return NULL;
        PyObject *t = new_tensor(array);
        if (t == NULL) return NULL;
        outputs = PyTuple_Pack(1, t);
        result = t;  /* the reference `outputs` does not own */
        if (outputs == NULL) { Py_DECREF(t); return NULL; }
        Py_DECREF(t);
    } else {
        PyObject *seq = PySequence_Fast(out, "kernel outputs");
        Py_DECREF(out);
        if (seq == NULL) return NULL;
        Py_ssize_t m = PySequence_Fast_GET_SIZE(seq);
        outputs = PyTuple_New(m);
        if (outputs == NULL) { Py_DECREF(seq); return NULL; }
        for (Py_ssize_t i = 0; i < m; i++) {
            PyObject *o = PySequence_Fast_GET_ITEM(seq, i);
            Py_INCREF(o);
            PyObject *array = output_array(o, Py_None);
            PyObject *t = array == NULL ? NULL : new_tensor(array);
            if (t == NULL) { Py_DECREF(seq); Py_DECREF(outputs); return NULL; }
            PyTuple_SET_ITEM(outputs, i, t);
        }
        Py_DECREF(seq);
        result = outputs;
    }

    int autograd = 0;
    if (has_vjp && !plain) {
        PyObject *enabled = PyObject_GetAttr(grad_state, str_enabled);
        if (enabled == NULL) { Py_DECREF(outputs); return NULL; }
        autograd = PyObject_IsTrue(enabled);
        Py_DECREF(enabled);
        if (autograd < 0) { Py_DECREF(outputs); return NULL; }
    }
    int hooks = PyList_GET_SIZE(op_hooks) > 0;
    if (autograd && simple && !is_view && !hooks && num_outputs == 1 &&
        PyTuple_GET_ITEM(info, 9) == Py_True) {
        char kind = PyArray_DESCR((PyArrayObject *)SLOT(result, off_data))->kind;
        if (kind == 'f' || kind == 'c') {
            int save_output = (int)PyLong_AsLong(PyTuple_GET_ITEM(info, 8));
            if (record_plain(op, &PyTuple_GET_ITEM(inputs, 0), n, result,
                             PyTuple_GET_ITEM(info, 7), save_output) < 0) {
                Py_DECREF(outputs);
                return NULL;
            }
            if (PyDict_GET_SIZE(attrs) > 0)  /* the node keeps this call's attributes */
                Py_SETREF(SLOT(SLOT(result, off_grad_fn), off_attrs), Py_NewRef(attrs));
            autograd = 0;
        }
    }
    if (is_view || autograd || hooks) {
        PyObject *fargs[4] = {op, inputs, outputs, attrs};
        PyObject *done = PyObject_Vectorcall(finish_call, fargs, 4, NULL);
        if (done == NULL) { Py_DECREF(outputs); return NULL; }
        Py_DECREF(done);
    }
    if (num_outputs == 1) {
        Py_INCREF(result);
        Py_DECREF(outputs);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"setup_call", setup_call, METH_VARARGS, "Bind dispatch.call's state."},
    {"call", (PyCFunction)(void (*)(void))call, METH_FASTCALL,
     "call(op, inputs, attrs): the outputs of dispatch.call, or None for the Python path."},
    {"setup", setup, METH_VARARGS, "Bind the Tensor type and dispatch's state."},
    {"binary", (PyCFunction)(void (*)(void))binary, METH_FASTCALL,
     "binary(op, cache, saves, x, y): the Tensor op(x, y), or None for the Python path."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "graphtorch_dispatch_native",
                                       NULL, -1, methods};

PyMODINIT_FUNC PyInit_graphtorch_dispatch_native(void) {
    import_array();
    str_tracer = PyUnicode_InternFromString("tracer");
    str_dict = PyUnicode_InternFromString("__dict__");
    str_enabled = PyUnicode_InternFromString("enabled");
    str_accumulator = PyUnicode_InternFromString("_accumulator");
    str_astype = PyUnicode_InternFromString("astype");
    zero = PyLong_FromLong(0);
    if (str_tracer == NULL || str_dict == NULL || str_enabled == NULL ||
        str_accumulator == NULL || str_astype == NULL || zero == NULL)
        return NULL;
    return PyModule_Create(&moduledef);
}
"""


def start(on_load) -> PythonExtension:
    """Load (or build, per GRAPHTORCH_EAGER_NATIVE) the extension; `on_load(module)` binds
    it once it is there."""
    extension = PythonExtension("graphtorch_dispatch_native", SOURCE,
                                "GRAPHTORCH_EAGER_NATIVE", on_load)
    extension.get()
    return extension
