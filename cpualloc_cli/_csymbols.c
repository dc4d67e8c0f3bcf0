/* cpualloc_cli._csymbols: the compiled fast path of the `nm -S --size-sort` symbol order and
 * of the JSON symbol rows (issue 14). Optional: built at install time when a C compiler is
 * present; cpualloc_cli/adapters/elf.py and cpualloc_cli/render/inspect_json.py keep the pure
 * Python code, which is the fallback and the oracle (tests/test_csymbols.py compares the two).
 *
 * Both functions read only what they are given (columns copied out of the ELF file by the
 * adapter) and check every index and string-table offset before using it: a bad one raises
 * ValueError, never reads out of bounds. No ELF parsing happens here.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

typedef struct {
    Py_buffer view;
    Py_ssize_t count;
    int width; /* 2, 4 or 8 bytes per element */
} column;

static int column_open(PyObject *obj, column *col, const char *what) {
    if (PyObject_GetBuffer(obj, &col->view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    Py_ssize_t w = col->view.itemsize;
    if (w != 2 && w != 4 && w != 8) {
        PyBuffer_Release(&col->view);
        PyErr_Format(PyExc_ValueError, "%s: unsupported item size %zd", what, w);
        return -1;
    }
    const char *f = col->view.format ? col->view.format : "B";
    if (*f == '@' || *f == '=' || *f == '<' || *f == '>' || *f == '!')
        f++;
    if (!(f[0] == 'H' || f[0] == 'I' || f[0] == 'L' || f[0] == 'Q' || f[0] == 'K') || f[1] != '\0') {
        PyBuffer_Release(&col->view);
        PyErr_Format(PyExc_ValueError, "%s: expected an array of unsigned integers", what);
        return -1;
    }
    col->width = (int)w;
    col->count = col->view.len / w;
    return 0;
}

static inline uint64_t column_at(const column *col, Py_ssize_t i) {
    const char *p = (const char *)col->view.buf;
    switch (col->width) {
    case 2: { uint16_t v; memcpy(&v, p + i * 2, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p + i * 4, 4); return v; }
    default: { uint64_t v; memcpy(&v, p + i * 8, 8); return v; }
    }
}

/* The indices (ints, each < limit) of a sequence, as a C array. */
static Py_ssize_t *index_array(PyObject *seq, Py_ssize_t limit, Py_ssize_t *n_out) {
    PyObject *fast = PySequence_Fast(seq, "indices must be a sequence");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    Py_ssize_t *out = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Py_ssize_t));
    if (out == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t v = PyLong_AsSsize_t(items[k]);
        if (v == -1 && PyErr_Occurred())
            goto fail;
        if (v < 0 || v >= limit) {
            PyErr_Format(PyExc_ValueError, "symbol index %zd out of range (%zd symbols)", v, limit);
            goto fail;
        }
        out[k] = v;
    }
    Py_DECREF(fast);
    *n_out = n;
    return out;
fail:
    Py_DECREF(fast);
    PyMem_Free(out);
    return NULL;
}

/* The string table must end with a NUL (the adapter checks it too), so that every name read
 * from an in-range offset stops inside it. */
static int strtab_ok(const Py_buffer *strtab) {
    if (strtab->len == 0 || ((const char *)strtab->buf)[strtab->len - 1] != '\0') {
        PyErr_SetString(PyExc_ValueError, "string table is empty or does not end with a NUL");
        return 0;
    }
    return 1;
}

typedef struct { /* 24 bytes */
    uint64_t size;
    uint64_t prefix; /* the name's first 8 bytes, big-endian, NUL-padded: compares as strcmp does */
    uint32_t pos;    /* position in the input (table order): the stable tie-break */
    uint32_t name;   /* offset of the name in the string table */
} entry;

/* a before b: by size, then name (strcmp: unsigned bytes, as nm); equal keys are "not before",
 * and the merge sort below is stable, so they keep their input (table) order. */
static inline int entry_less(const entry *a, const entry *b, const unsigned char *tab) {
    if (a->size != b->size)
        return a->size < b->size;
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix;
    return strcmp((const char *)tab + a->name, (const char *)tab + b->name) < 0;
}

/* Stable sort of ent[0..n) (tmp has room for n): insertion sort of runs of 16, then bottom-up
 * merges between the two buffers. Returns the buffer that holds the result. */
static entry *entry_sort(entry *ent, entry *tmp, size_t n, const unsigned char *tab) {
    const size_t run = 16;
    for (size_t lo = 0; lo < n; lo += run) {
        size_t hi = lo + run < n ? lo + run : n;
        for (size_t i = lo + 1; i < hi; i++) {
            entry x = ent[i];
            size_t j = i;
            while (j > lo && entry_less(&x, &ent[j - 1], tab)) {
                ent[j] = ent[j - 1];
                j--;
            }
            ent[j] = x;
        }
    }
    entry *src = ent, *dst = tmp;
    for (size_t width = run; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = entry_less(&src[j], &src[i], tab) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        entry *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

PyDoc_STRVAR(size_name_order_doc,
"size_name_order(indices, sizes, name_offsets, strtab) -> (order, same)\n\n"
"`indices` (symbol indices in table order) sorted by (size, name in strcmp order, position):\n"
"a stable sort by size and name. `same` lists the positions k of `order` whose symbol has the\n"
"size and name of the symbol at k - 1 (the runs the caller still orders by value).");

static PyObject *size_name_order(PyObject *self, PyObject *args) {
    PyObject *indices, *sizes_obj, *offsets_obj;
    Py_buffer strtab;
    if (!PyArg_ParseTuple(args, "OOOy*", &indices, &sizes_obj, &offsets_obj, &strtab))
        return NULL;
    column sizes, offsets;
    PyObject *result = NULL, *order = NULL, *same = NULL;
    Py_ssize_t *idx = NULL, n = 0;
    entry *ent = NULL;
    if (column_open(sizes_obj, &sizes, "sizes") < 0) {
        PyBuffer_Release(&strtab);
        return NULL;
    }
    if (column_open(offsets_obj, &offsets, "name_offsets") < 0) {
        PyBuffer_Release(&sizes.view);
        PyBuffer_Release(&strtab);
        return NULL;
    }
    Py_ssize_t limit = sizes.count < offsets.count ? sizes.count : offsets.count;
    idx = index_array(indices, limit, &n);
    if (idx == NULL)
        goto done;
    if (n && !strtab_ok(&strtab))
        goto done;
    ent = PyMem_Malloc((size_t)(n ? 2 * n : 1) * sizeof(entry)); /* the entries, then the merge buffer */
    if (ent == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (n > (Py_ssize_t)UINT32_MAX || strtab.len > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "symbol or string table too large");
        goto done;
    }
    const unsigned char *tab = strtab.buf;
    for (Py_ssize_t k = 0; k < n; k++) {
        uint64_t off = column_at(&offsets, idx[k]);
        if (off >= (uint64_t)strtab.len) {
            PyErr_Format(PyExc_ValueError, "symbol %zd name offset %llu is beyond the string table (%zd bytes)",
                         idx[k], (unsigned long long)off, strtab.len);
            goto done;
        }
        ent[k].size = column_at(&sizes, idx[k]);
        ent[k].name = (uint32_t)off;
        uint64_t prefix = 0;
        const unsigned char *q = tab + off;
        for (int b = 0; b < 8; b++) {  /* stops at the NUL, which lies inside the table */
            prefix = (prefix << 8) | *q;
            if (*q)
                q++;
        }
        ent[k].prefix = prefix;
        ent[k].pos = (uint32_t)k;
    }
    entry *sorted = entry_sort(ent, ent + n, (size_t)n, tab);
    order = PyList_New(n);
    same = PyList_New(0);
    if (order == NULL || same == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *v = PyLong_FromSsize_t(idx[sorted[k].pos]);
        if (v == NULL)
            goto done;
        PyList_SET_ITEM(order, k, v);
        if (k && sorted[k].size == sorted[k - 1].size && sorted[k].prefix == sorted[k - 1].prefix
                && strcmp((const char *)tab + sorted[k].name, (const char *)tab + sorted[k - 1].name) == 0) {
            PyObject *p = PyLong_FromSsize_t(k);
            if (p == NULL || PyList_Append(same, p) < 0) {
                Py_XDECREF(p);
                goto done;
            }
            Py_DECREF(p);
        }
    }
    result = PyTuple_Pack(2, order, same);
done:
    Py_XDECREF(order);
    Py_XDECREF(same);
    PyMem_Free(ent);
    PyMem_Free(idx);
    PyBuffer_Release(&offsets.view);
    PyBuffer_Release(&sizes.view);
    PyBuffer_Release(&strtab);
    return result;
}

/* What may go between JSON quotes as it is: printable ASCII but '"' and '\\' (and the NUL
 * that ends a name). */
static unsigned char json_plain_table[256];

static void json_plain_init(void) {
    for (int c = 0; c < 256; c++)
        json_plain_table[c] = c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

typedef struct {
    char *buf;
    size_t len, cap;
} sink;

static int sink_reserve(sink *s, size_t more) {
    if (s->len + more <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 1 << 16;
    while (cap < s->len + more) {
        if (cap > ((size_t)PY_SSIZE_T_MAX) / 2) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    char *p = PyMem_Realloc(s->buf, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    s->buf = p;
    s->cap = cap;
    return 0;
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* v in decimal, as Python's %d writes a non-negative int; returns the length (at most 20). */
static inline size_t put_u64(char *out, uint64_t v) {
    char tmp[20];
    size_t n = 20;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        n -= 2;
        memcpy(tmp + n, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        n -= 2;
        memcpy(tmp + n, digit_pairs + 2 * v, 2);
    } else {
        tmp[--n] = (char)('0' + v);
    }
    memcpy(out, tmp + n, 20 - n);
    return 20 - n;
}

PyDoc_STRVAR(json_rows_doc,
"json_rows(order, values, sizes, nm_types, name_offsets, strtab, sign_extend, size_sources) -> str | None\n\n"
"`[[value,size,\"T\",\"name\",\"symtab\"],...]` for the symbols of `order`, as\n"
"json.dumps(rows, separators=(',', ':'), ensure_ascii=False) writes it; None when a name or a\n"
"type letter needs JSON escaping, or a size source code is not one of s/d/u (the caller then\n"
"uses the encoder). With sign_extend, a value with bit 31 set gets bits 32-63 set (32-bit MIPS\n"
"addresses as BFD prints them). size_sources: one code byte per symbol (model/image.py\n"
"SIZE_SOURCE_CODES: s symtab, d derived, u unbounded), or None for symtab throughout.");

static PyObject *json_rows(PyObject *self, PyObject *args) {
    PyObject *indices, *values_obj, *sizes_obj, *offsets_obj, *types_obj, *sources_obj;
    Py_buffer strtab, sources = {0};
    int sign_extend;
    if (!PyArg_ParseTuple(args, "OOOUOy*pO", &indices, &values_obj, &sizes_obj, &types_obj, &offsets_obj, &strtab,
                          &sign_extend, &sources_obj))
        return NULL;
    int have_sources = sources_obj != Py_None;
    if (have_sources && PyObject_GetBuffer(sources_obj, &sources, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&strtab);
        return NULL;
    }
    const unsigned char *source_codes = have_sources ? (const unsigned char *)sources.buf : NULL;
    column values, sizes, offsets;
    int opened = 0;
    PyObject *result = NULL;
    Py_ssize_t *idx = NULL, n = 0;
    sink s = {NULL, 0, 0};
    if (column_open(values_obj, &values, "values") < 0)
        goto done;
    opened = 1;
    if (column_open(sizes_obj, &sizes, "sizes") < 0)
        goto done;
    opened = 2;
    if (column_open(offsets_obj, &offsets, "name_offsets") < 0)
        goto done;
    opened = 3;
    if (!PyUnicode_IS_ASCII(types_obj)) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    const unsigned char *types = PyUnicode_1BYTE_DATA(types_obj);
    Py_ssize_t limit = PyUnicode_GET_LENGTH(types_obj);
    if (values.count < limit) limit = values.count;
    if (sizes.count < limit) limit = sizes.count;
    if (offsets.count < limit) limit = offsets.count;
    if (have_sources && sources.len < limit) limit = sources.len;
    idx = index_array(indices, limit, &n);
    if (idx == NULL)
        goto done;
    if (n == 0) {
        result = PyUnicode_FromString("[]");
        goto done;
    }
    if (!strtab_ok(&strtab))
        goto done;
    const unsigned char *tab = strtab.buf;
    if (sink_reserve(&s, 2) < 0)
        goto done;
    s.buf[s.len++] = '[';
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t i = idx[k];
        if (k + 16 < n) { /* the rows are in size order, so these reads are scattered: ask early */
            Py_ssize_t ahead = idx[k + 16];
            PREFETCH((const char *)offsets.view.buf + ahead * offsets.width);
            PREFETCH((const char *)values.view.buf + ahead * values.width);
            PREFETCH((const char *)sizes.view.buf + ahead * sizes.width);
            PREFETCH(types + ahead);
        }
        if (k + 8 < n) {
            uint64_t ahead_off = column_at(&offsets, idx[k + 8]);
            if (ahead_off < (uint64_t)strtab.len)
                PREFETCH(tab + ahead_off);
        }
        uint64_t off = column_at(&offsets, i);
        if (off >= (uint64_t)strtab.len) {
            PyErr_Format(PyExc_ValueError, "symbol %zd name offset %llu is beyond the string table (%zd bytes)",
                         i, (unsigned long long)off, strtab.len);
            goto done;
        }
        const unsigned char *name = tab + off;
        size_t name_len = 0; /* the name ends inside the table: the table ends with a NUL */
        while (json_plain_table[name[name_len]])
            name_len++;
        if (name[name_len] != '\0') {
            result = Py_NewRef(Py_None);
            goto done;
        }
        unsigned char t = types[i];
        if (!((t >= 'A' && t <= 'Z') || (t >= 'a' && t <= 'z') || t == '?')) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        uint64_t value = column_at(&values, i);
        if (sign_extend && (value & 0x80000000u))
            value |= 0xFFFFFFFF00000000ull;
        const char *source = "symtab";
        size_t source_len = 6;
        if (have_sources) {
            switch (source_codes[i]) {
            case 's': break;
            case 'd': source = "derived"; source_len = 7; break;
            case 'u': source = "unbounded"; source_len = 9; break;
            default:
                result = Py_NewRef(Py_None);
                goto done;
            }
        }
        if (sink_reserve(&s, name_len + 80) < 0)
            goto done;
        char *p = s.buf + s.len;
        if (k)
            *p++ = ',';
        *p++ = '[';
        p += put_u64(p, value);
        *p++ = ',';
        p += put_u64(p, column_at(&sizes, i));
        *p++ = ',';
        *p++ = '"';
        *p++ = (char)t;
        *p++ = '"';
        *p++ = ',';
        *p++ = '"';
        memcpy(p, name, name_len);
        p += name_len;
        *p++ = '"';
        *p++ = ',';
        *p++ = '"';
        memcpy(p, source, source_len);
        p += source_len;
        *p++ = '"';
        *p++ = ']';
        s.len = (size_t)(p - s.buf);
    }
    if (sink_reserve(&s, 1) < 0)
        goto done;
    s.buf[s.len++] = ']';
    result = PyUnicode_New((Py_ssize_t)s.len, 127);
    if (result != NULL)
        memcpy(PyUnicode_1BYTE_DATA(result), s.buf, s.len);
done:
    PyMem_Free(s.buf);
    PyMem_Free(idx);
    if (opened >= 3) PyBuffer_Release(&offsets.view);
    if (opened >= 2) PyBuffer_Release(&sizes.view);
    if (opened >= 1) PyBuffer_Release(&values.view);
    PyBuffer_Release(&strtab);
    if (have_sources)
        PyBuffer_Release(&sources);
    return result;
}

static PyMethodDef methods[] = {
    {"size_name_order", size_name_order, METH_VARARGS, size_name_order_doc},
    {"json_rows", json_rows, METH_VARARGS, json_rows_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "cpualloc_cli._csymbols",
    "Compiled fast path of the nm --size-sort order and the JSON symbol rows (optional).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__csymbols(void) {
    json_plain_init();
    return PyModule_Create(&module);
}
