/* safetensors.h - a defensive reader and writer of the safetensors format.
 *
 * The reader trusts nothing in the file: the header length, the JSON, every
 * dtype, shape and offset are checked before any tensor byte is touched.
 */
#ifndef TUNIT_SAFETENSORS_H
#define TUNIT_SAFETENSORS_H

#include <glib.h>

G_BEGIN_DECLS

#define TUNIT_MAX_DIMS 8

typedef enum {
  TUNIT_DTYPE_F32,
  TUNIT_DTYPE_F16,
} TunitDtype;

typedef struct {
  char *name;
  TunitDtype dtype;
  int n_dims;
  gint64 dims[TUNIT_MAX_DIMS];
  gsize n_elements;
  const guint8 *data;      /* inside the file's bytes; not aligned */
  gsize n_bytes;
} SafetensorsTensor;

typedef struct {
  GBytes *bytes;           /* the whole file */
  GPtrArray *tensors;      /* SafetensorsTensor*, in file order */
  GHashTable *by_name;     /* name -> SafetensorsTensor* */
  GHashTable *metadata;    /* char* -> char* */
} SafetensorsFile;

SafetensorsFile *safetensors_parse (GBytes *bytes, GError **error);
void safetensors_free (SafetensorsFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SafetensorsFile, safetensors_free)

/* Converts a tensor's data to float32 (n_elements floats in out). */
void safetensors_tensor_to_float (const SafetensorsTensor *tensor, float *out);

/* One tensor to write: raw little-endian data of the given dtype. */
typedef struct {
  const char *name;
  TunitDtype dtype;
  int n_dims;
  gint64 dims[TUNIT_MAX_DIMS];
  const void *data;
  gsize n_bytes;
} SafetensorsEntry;

/* Writes entries and metadata (may be NULL) to path, atomically. */
gboolean safetensors_write (const char *path, const SafetensorsEntry *entries,
                            gsize n_entries, GHashTable *metadata, GError **error);

G_END_DECLS

#endif
