/* studyforge._speedups: the loops numpy cannot write in one pass.
 *
 * factorize_str  hashes a column of Python str objects (the pandas `str` layout without pyarrow) by its
 *                characters, as pandas' string hash table does, but word-at-a-time, without pandas'
 *                per-value missing-value test and without the GIL: (codes, distinct values in
 *                first-appearance order).
 * factorize_utf8 the same for Arrow strings, from the array's own buffers.
 * fill_records   assembles XPORT v5 observation records: every column of a block of rows in one call
 *                (character values gathered from a table of distinct values, numbers converted to IBM
 *                hex floats), with the GIL released.
 *
 * All are optional: studyforge.xpt has a numpy path for each that gives the same bytes (tests compare
 * them), used when this module was not built.  No numpy headers: arrays arrive through the buffer
 * protocol. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include <stdlib.h>

#if defined(_MSC_VER)
#define BSWAP64(x) _byteswap_uint64(x)
#else
#define BSWAP64(x) __builtin_bswap64(x)
#endif

/* ------------------------------------------------------------------------------------------------ */
/* factorize_str */

typedef struct {
    const void *data;      /* the bytes of the distinct value (kept alive by the caller's column) */
    Py_ssize_t size;
    int kind;              /* Python str: 1, 2 or 4 bytes per character (PEP 393); UTF-8: 1 */
    int32_t code;
    uint64_t hash;
} Slot;

/* Open-addressing table of distinct values, in first-appearance order: code k was first seen at row
 * first[k] (its bytes at data[k], size[k]). */
typedef struct {
    Slot *slots;
    size_t mask;
    Py_ssize_t k, cap;
    Py_ssize_t *first;
    const void **data;
    Py_ssize_t *size;
} Table;

static uint64_t hash_bytes(const unsigned char *p, Py_ssize_t n, int kind)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)n * 0xFF51AFD7ED558CCDULL) ^ (uint64_t)kind;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n > 0) {            /* the last 1-7 bytes by (overlapping) whole loads: no byte loop */
        uint64_t w;
        if (n >= 4) {
            uint32_t lo, hi;
            memcpy(&lo, p, 4);
            memcpy(&hi, p + n - 4, 4);
            w = (uint64_t)lo | ((uint64_t)hi << 32);
        } else
            w = (uint64_t)p[0] | ((uint64_t)p[n / 2] << 8) | ((uint64_t)p[n - 1] << 16);
        h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    }
    h ^= h >> 32;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 29;
    return h;
}

/* Plain malloc/free: these run without the GIL. */
static int table_init(Table *t)
{
    memset(t, 0, sizeof(*t));
    t->mask = 255;
    t->cap = 64;
    t->slots = calloc(t->mask + 1, sizeof(Slot));
    t->first = malloc((size_t)t->cap * sizeof(Py_ssize_t));
    t->data = malloc((size_t)t->cap * sizeof(void *));
    t->size = malloc((size_t)t->cap * sizeof(Py_ssize_t));
    return (t->slots && t->first && t->data && t->size) ? 0 : -1;
}

static void table_free(Table *t)
{
    free(t->slots);
    free(t->first);
    free(t->data);
    free(t->size);
}

static int table_grow(Table *t)
{
    size_t size = (t->mask + 1) * 2;
    Slot *fresh = calloc(size, sizeof(Slot));
    if (fresh == NULL)
        return -1;
    for (size_t i = 0; i <= t->mask; i++) {
        Slot *s = &t->slots[i];
        if (s->data == NULL)
            continue;
        size_t j = (size_t)s->hash & (size - 1);
        while (fresh[j].data != NULL)
            j = (j + 1) & (size - 1);
        fresh[j] = *s;
    }
    free(t->slots);
    t->slots = fresh;
    t->mask = size - 1;
    return 0;
}

/* The code of the value (data, size, kind) seen at `row`, a new one if it is new; -1 if out of memory
 * or past 2**31-1 distinct values.  An empty value's data pointer must not be NULL. */
static int32_t table_code(Table *t, const void *data, Py_ssize_t size, int kind, Py_ssize_t row)
{
    uint64_t h = hash_bytes((const unsigned char *)data, size, kind);
    size_t j = (size_t)h & t->mask;
    for (;;) {
        Slot *s = &t->slots[j];
        if (s->data == NULL)
            break;
        if (s->hash == h && s->size == size && s->kind == kind && memcmp(s->data, data, (size_t)size) == 0)
            return s->code;
        j = (j + 1) & t->mask;
    }
    if (t->k >= INT32_MAX)
        return -1;
    if (t->k == t->cap) {
        Py_ssize_t cap = t->cap * 2;
        Py_ssize_t *first = realloc(t->first, (size_t)cap * sizeof(Py_ssize_t));
        if (first == NULL)
            return -1;
        t->first = first;
        const void **d = realloc(t->data, (size_t)cap * sizeof(void *));
        if (d == NULL)
            return -1;
        t->data = d;
        Py_ssize_t *sz = realloc(t->size, (size_t)cap * sizeof(Py_ssize_t));
        if (sz == NULL)
            return -1;
        t->size = sz;
        t->cap = cap;
    }
    Slot *s = &t->slots[j];
    s->data = data;
    s->size = size;
    s->kind = kind;
    s->hash = h;
    s->code = (int32_t)t->k;
    t->first[t->k] = row;
    t->data[t->k] = data;
    t->size[t->k] = size;
    t->k++;
    if ((size_t)t->k * 2 > t->mask + 1 && table_grow(t) < 0)    /* frees the slot `s` points into */
        return -1;
    return (int32_t)(t->k - 1);
}

static int codes_buffer(PyObject *obj, Py_buffer *cb, Py_ssize_t n)
{
    if (PyObject_GetBuffer(obj, cb, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        return -1;
    if (cb->itemsize != 4 || cb->len / 4 != n) {
        PyBuffer_Release(cb);
        PyErr_SetString(PyExc_ValueError, "codes_out must be int32, one per value");
        return -1;
    }
    return 0;
}

/* factorize_str(values, codes_out) -> list | None
 *   values: C-contiguous buffer of PyObject* (an object ndarray); codes_out: writable int32 buffer of
 *   the same length.  str values get codes in first-appearance order, anything else -1 (missing), as
 *   pandas' StringHashTable.factorize does.  Returns the distinct values, or None (codes not meaningful)
 *   when a value is a str subclass (np.str_) or a legacy (non-compact, 3.11 only) string: the caller
 *   then takes the general route.  The loop runs without the GIL: it only reads str objects, immutable and kept alive by
 *   `values` (as with any pandas operation, the column must not be changed meanwhile by another thread). */
static PyObject *factorize_str(PyObject *self, PyObject *args)
{
    PyObject *values_obj, *codes_obj;
    if (!PyArg_ParseTuple(args, "OO", &values_obj, &codes_obj))
        return NULL;
    Py_buffer vb, cb;
    if (PyObject_GetBuffer(values_obj, &vb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (vb.itemsize != sizeof(PyObject *) || vb.format == NULL || strcmp(vb.format, "O") != 0) {
        PyBuffer_Release(&vb);
        PyErr_SetString(PyExc_TypeError, "factorize_str: values must be an object array");
        return NULL;
    }
    Py_ssize_t n = vb.len / vb.itemsize;
    if (codes_buffer(codes_obj, &cb, n) < 0) {
        PyBuffer_Release(&vb);
        return NULL;
    }
    PyObject **vals = (PyObject **)vb.buf;
    int32_t *codes = (int32_t *)cb.buf;
    PyObject *result = NULL;
    Table t;
    int status = table_init(&t) < 0 ? -1 : 0;       /* -1 no memory, 1 legacy string */
    Py_BEGIN_ALLOW_THREADS
    PyObject *prev = NULL;             /* runs of the same object (broadcast or repeated values) */
    int32_t prev_code = -1;
    for (Py_ssize_t i = 0; i < n && status == 0; i++) {
        PyObject *o = vals[i];
        if (o == prev) {
            codes[i] = prev_code;
            continue;
        }
        int32_t code = -1;
        if (PyUnicode_Check(o)) {
            if (!PyUnicode_CheckExact(o) || !PyUnicode_IS_COMPACT(o)) {
                status = 1;
                break;
            }
            int kind = PyUnicode_KIND(o);
            code = table_code(&t, PyUnicode_DATA(o), PyUnicode_GET_LENGTH(o) * kind, kind, i);
            if (code < 0) {
                status = -1;
                break;
            }
        }
        codes[i] = code;
        prev = o;
        prev_code = code;
    }
    Py_END_ALLOW_THREADS
    if (status < 0)
        PyErr_NoMemory();
    else if (status > 0) {
        result = Py_None;
        Py_INCREF(result);
    } else if ((result = PyList_New(t.k)) != NULL) {
        for (Py_ssize_t c = 0; c < t.k; c++) {
            PyObject *o = vals[t.first[c]];
            Py_INCREF(o);
            PyList_SET_ITEM(result, c, o);
        }
    }
    table_free(&t);
    PyBuffer_Release(&vb);
    PyBuffer_Release(&cb);
    return result;
}

/* factorize_utf8(chunks, codes_out) -> list
 *   The same for Arrow string arrays, straight from their buffers: chunks is a sequence of
 *   (validity or None, offsets, data or None, offset, length, offset width 4 | 8), one code table
 *   across all chunks; nulls -> -1.  The distinct values are decoded once each (Arrow strings are
 *   UTF-8).  No GIL while hashing. */
typedef struct {
    Py_buffer validity, offsets, data;
    int has_validity, has_data, width;
    Py_ssize_t offset, length;
} Chunk;

static PyObject *factorize_utf8(PyObject *self, PyObject *args)
{
    PyObject *seq, *codes_obj;
    if (!PyArg_ParseTuple(args, "OO", &seq, &codes_obj))
        return NULL;
    PyObject *fast = PySequence_Fast(seq, "factorize_utf8: chunks must be a sequence");
    if (fast == NULL)
        return NULL;
    Py_ssize_t nc = PySequence_Fast_GET_SIZE(fast), n = 0, i;
    Chunk *ch = calloc(nc > 0 ? (size_t)nc : 1, sizeof(Chunk));
    PyObject *result = NULL;
    Py_buffer cb;
    cb.obj = NULL;
    Table t;
    memset(&t, 0, sizeof(t));
    if (ch == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    for (i = 0; i < nc; i++) {
        PyObject *validity, *offsets, *data;
        Chunk *c = &ch[i];
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "OOOnni", &validity, &offsets, &data,
                              &c->offset, &c->length, &c->width))
            goto out;
        if (PyObject_GetBuffer(offsets, &c->offsets, PyBUF_C_CONTIGUOUS) < 0)
            goto out;
        if (validity != Py_None) {
            if (PyObject_GetBuffer(validity, &c->validity, PyBUF_C_CONTIGUOUS) < 0)
                goto out;
            c->has_validity = 1;
        }
        if (data != Py_None) {
            if (PyObject_GetBuffer(data, &c->data, PyBUF_C_CONTIGUOUS) < 0)
                goto out;
            c->has_data = 1;
        }
        if ((c->width != 4 && c->width != 8) || c->offset < 0 || c->length < 0
            || c->offsets.len < (c->offset + c->length + 1) * c->width
            || (c->has_validity && c->validity.len * 8 < c->offset + c->length)) {
            PyErr_SetString(PyExc_ValueError, "factorize_utf8: a chunk's buffers are too short");
            goto out;
        }
        n += c->length;
    }
    if (codes_buffer(codes_obj, &cb, n) < 0) {
        cb.obj = NULL;
        goto out;
    }
    if (table_init(&t) < 0) {
        PyErr_NoMemory();
        goto out;
    }
    int status = 0;                    /* -1 no memory, 1 offsets outside the data */
    static const char empty[1] = {0};
    Py_BEGIN_ALLOW_THREADS
    int32_t *codes = (int32_t *)cb.buf;
    Py_ssize_t row = 0;
    for (i = 0; i < nc && status == 0; i++) {
        Chunk *c = &ch[i];
        const unsigned char *bits = c->has_validity ? (const unsigned char *)c->validity.buf : NULL;
        const char *bytes = c->has_data ? (const char *)c->data.buf : empty;
        Py_ssize_t limit = c->has_data ? c->data.len : 0;
        for (Py_ssize_t r = 0; r < c->length; r++, row++) {
            Py_ssize_t at = c->offset + r;
            if (bits != NULL && !((bits[at >> 3] >> (at & 7)) & 1)) {
                codes[row] = -1;
                continue;
            }
            int64_t lo, hi;
            if (c->width == 4) {
                lo = ((const int32_t *)c->offsets.buf)[at];
                hi = ((const int32_t *)c->offsets.buf)[at + 1];
            } else {
                lo = ((const int64_t *)c->offsets.buf)[at];
                hi = ((const int64_t *)c->offsets.buf)[at + 1];
            }
            if (lo < 0 || hi < lo || hi > limit) {
                status = 1;
                break;
            }
            int32_t code = table_code(&t, hi > lo ? bytes + lo : empty, (Py_ssize_t)(hi - lo), 1, row);
            if (code < 0) {
                status = -1;
                break;
            }
            codes[row] = code;
        }
    }
    Py_END_ALLOW_THREADS
    if (status < 0) {
        PyErr_NoMemory();
        goto out;
    }
    if (status > 0) {
        PyErr_SetString(PyExc_ValueError, "factorize_utf8: offsets outside the data buffer");
        goto out;
    }
    if ((result = PyList_New(t.k)) == NULL)
        goto out;
    for (Py_ssize_t c = 0; c < t.k; c++) {
        PyObject *u = PyUnicode_DecodeUTF8((const char *)t.data[c], t.size[c], "strict");
        if (u == NULL) {
            Py_CLEAR(result);
            goto out;
        }
        PyList_SET_ITEM(result, c, u);
    }
out:
    table_free(&t);
    if (cb.obj != NULL)
        PyBuffer_Release(&cb);
    if (ch != NULL) {
        for (i = 0; i < nc; i++) {
            if (ch[i].offsets.obj != NULL)
                PyBuffer_Release(&ch[i].offsets);
            if (ch[i].has_validity)
                PyBuffer_Release(&ch[i].validity);
            if (ch[i].has_data)
                PyBuffer_Release(&ch[i].data);
        }
        free(ch);
    }
    Py_DECREF(fast);
    return result;
}

/* ------------------------------------------------------------------------------------------------ */
/* fill_records */

enum { CHAR = 0, NUM = 1 };

typedef struct {
    int kind;
    Py_ssize_t pos, length;
    Py_buffer data;        /* CHAR: (k, length) uint8 table; NUM: float64 values */
    Py_buffer codes;       /* CHAR: row -> table row (1, 2 or 4 bytes); NUM: special missing byte or none */
    int has_codes;
} Filler;

/* IBM System/360 hex float of an IEEE double, as a native word whose top `length` bytes are the value
 * (the same arithmetic as studyforge.xpt._ibm_word).  Returns 0, or 1 when rounding to `length` bytes
 * overflows the IBM range, 2 for a value outside it. */
static int ibm_word(double x, int length, unsigned char special, uint64_t *out)
{
    uint64_t bits;
    memcpy(&bits, &x, 8);
    uint64_t sign = bits & 0x8000000000000000ULL;
    uint64_t e2 = (bits >> 52) & 0x7FF;
    uint64_t mant = bits & 0x000FFFFFFFFFFFFFULL;
    if (e2 == 0x7FF) {
        if (mant == 0)
            return 2;                                   /* infinity */
        *out = (uint64_t)(special ? special : 0x2E) << 56;   /* missing: ".", or ".A"-".Z", "._" */
        return 0;
    }
    if (e2 < 763) {                                     /* |x| < 16**-65, zero, subnormal -> 0 */
        *out = 0;
        return 0;
    }
    if (e2 >= 1275) {
        if (e2 == 1275 && mant == 0) {                  /* exactly 16**63: the largest IBM number */
            *out = sign | 0x7FFFFFFFFFFFFFFFULL;
            return 0;
        }
        return 2;
    }
    uint64_t expo = (e2 - 763) >> 2;
    uint64_t frac = (mant | (1ULL << 52)) << ((e2 + 1) & 3);
    if (length < 8) {                                   /* keep 8L-8 bits, round half away from zero */
        unsigned drop = (unsigned)(64 - 8 * length);
        frac += 1ULL << (drop - 1);
        frac >>= drop;
        uint64_t carry = frac >> (8 * length - 8);
        frac >>= carry << 2;
        frac <<= drop;
        expo += carry;
        if (expo > 127)
            return 1;
    }
    *out = sign | (expo << 56) | frac;
    return 0;
}

static void release_fillers(Filler *f, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (f[i].data.obj != NULL)
            PyBuffer_Release(&f[i].data);
        if (f[i].has_codes)
            PyBuffer_Release(&f[i].codes);
    }
    PyMem_Free(f);
}

/* fill_records(dest, reclen, a, b, fillers) -> None | (filler index, row, status)
 *   dest: writable buffer of at least (b-a)*reclen bytes; fillers: sequence of
 *   (kind, pos, length, data, codes-or-None).  Row r of dest gets source rows a+r.  Stops at the first
 *   number IBM cannot hold and says where (status 1: rounds outside, 2: outside). */
static PyObject *fill_records(PyObject *self, PyObject *args)
{
    PyObject *dest_obj, *seq;
    Py_ssize_t reclen, a, b;
    if (!PyArg_ParseTuple(args, "OnnnO", &dest_obj, &reclen, &a, &b, &seq))
        return NULL;
    PyObject *fast = PySequence_Fast(seq, "fill_records: fillers must be a sequence");
    if (fast == NULL)
        return NULL;
    Py_ssize_t nf = PySequence_Fast_GET_SIZE(fast);
    Filler *fs = PyMem_Calloc(nf > 0 ? (size_t)nf : 1, sizeof(Filler));
    Py_buffer db;
    db.obj = NULL;
    PyObject *result = NULL;
    if (fs == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    if (PyObject_GetBuffer(dest_obj, &db, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        goto out;
    Py_ssize_t m = b - a;
    if (m < 0 || a < 0 || reclen < 0 || db.len < m * reclen) {
        PyErr_SetString(PyExc_ValueError, "fill_records: destination too small");
        goto out;
    }
    for (Py_ssize_t i = 0; i < nf; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i), *data, *codes;
        Filler *f = &fs[i];
        if (!PyArg_ParseTuple(item, "innOO", &f->kind, &f->pos, &f->length, &data, &codes))
            goto out;
        if (f->pos < 0 || f->length < 1 || f->pos + f->length > reclen || (f->kind == NUM && f->length > 8)) {
            PyErr_SetString(PyExc_ValueError, "fill_records: a column lies outside the record");
            goto out;
        }
        if (PyObject_GetBuffer(data, &f->data, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            goto out;
        if (codes != Py_None) {
            if (PyObject_GetBuffer(codes, &f->codes, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
                goto out;
            f->has_codes = 1;
            Py_ssize_t isz = f->codes.itemsize;
            if (!(isz == 1 || isz == 2 || isz == 4) || (f->kind == NUM && isz != 1) || f->codes.len / isz < b) {
                PyErr_SetString(PyExc_ValueError, "fill_records: codes of the wrong size");
                goto out;
            }
        }
        if (f->kind == CHAR) {
            if (!f->has_codes || f->data.len % f->length != 0) {
                PyErr_SetString(PyExc_ValueError, "fill_records: a character column needs codes and a table");
                goto out;
            }
        } else if (f->kind != NUM || f->data.itemsize != 8 || f->data.len / 8 < b) {
            PyErr_SetString(PyExc_ValueError, "fill_records: a numeric column needs float64 values");
            goto out;
        }
    }
    Py_ssize_t bad_filler = -1, bad_row = 0;
    int status = 0, bad_code = 0;
    unsigned char *dest = (unsigned char *)db.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < nf && bad_filler < 0 && !bad_code; i++) {
        Filler *f = &fs[i];
        unsigned char *row = dest + f->pos;
        size_t w = (size_t)f->length;
        if (f->kind == CHAR) {
            const unsigned char *table = (const unsigned char *)f->data.buf;
            Py_ssize_t k = f->data.len / f->length;
            const void *cbuf = f->codes.buf;
            for (Py_ssize_t r = 0; r < m; r++, row += reclen) {
                Py_ssize_t c;
                switch (f->codes.itemsize) {
                case 1: c = ((const uint8_t *)cbuf)[a + r]; break;
                case 2: c = ((const uint16_t *)cbuf)[a + r]; break;
                default: c = ((const uint32_t *)cbuf)[a + r]; break;
                }
                if (c >= k) {
                    bad_code = 1;
                    break;
                }
                memcpy(row, table + c * w, w);
            }
        } else {
            const double *x = (const double *)f->data.buf + a;
            const unsigned char *sp = f->has_codes ? (const unsigned char *)f->codes.buf + a : NULL;
            for (Py_ssize_t r = 0; r < m; r++, row += reclen) {
                uint64_t word;
                int st = ibm_word(x[r], (int)w, sp ? sp[r] : 0, &word);
                if (st) {
                    bad_filler = i;
                    bad_row = a + r;
                    status = st;
                    break;
                }
                word = BSWAP64(word);       /* big-endian: the top `w` bytes first */
                memcpy(row, &word, w);
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (bad_code) {
        PyErr_SetString(PyExc_ValueError, "fill_records: a code beyond its table");
        goto out;
    }
    if (bad_filler >= 0)
        result = Py_BuildValue("nni", bad_filler, bad_row, status);
    else {
        result = Py_None;
        Py_INCREF(result);
    }
out:
    if (db.obj != NULL)
        PyBuffer_Release(&db);
    if (fs != NULL)
        release_fillers(fs, nf);
    Py_DECREF(fast);
    return result;
}

static PyMethodDef methods[] = {
    {"factorize_str", factorize_str, METH_VARARGS,
     "factorize_str(values, codes_out) -> distinct str values in first-appearance order, or None"},
    {"factorize_utf8", factorize_utf8, METH_VARARGS,
     "factorize_utf8(chunks, codes_out) -> distinct values of Arrow string chunks in first-appearance order"},
    {"fill_records", fill_records, METH_VARARGS,
     "fill_records(dest, reclen, a, b, fillers) -> None, or (filler, row, status) of a number IBM cannot hold"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "studyforge._speedups", "Compiled inner loops of the XPT writer (optional).", -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
