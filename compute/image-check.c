/* image-check.c - the structure of PNG and JPEG files, walked without
 * decoding them: whether they reach their end marker, and the size their
 * header declares.  Image decoders accept truncated files (libjpeg and
 * GStreamer's decoders fill the rest with grey) and allocate the declared
 * size before reading the data; this lets the tunit tool and the element
 * refuse such files first. */
#include "tunit.h"

#include <string.h>

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* Walks the chunks of a PNG up to IEND; the size from IHDR. */
static TunitImageFileCheck
check_png (const guint8 *data, gsize size, guint64 *width, guint64 *height)
{
  gsize at = 8;
  for (gboolean first = TRUE;; first = FALSE) {
    if (size - at < 12)          /* length, type, CRC */
      return TUNIT_IMAGE_FILE_TRUNCATED;
    guint32 length = read_be32 (data + at);
    const guint8 *type = data + at + 4;
    if (length > G_MAXINT32 || (first && (memcmp (type, "IHDR", 4) != 0 || length < 8)))
      return TUNIT_IMAGE_FILE_MALFORMED;
    if (size - at - 12 < length)
      return TUNIT_IMAGE_FILE_TRUNCATED;
    if (first) {
      *width = read_be32 (data + at + 8);
      *height = read_be32 (data + at + 12);
    }
    if (memcmp (type, "IEND", 4) == 0)
      return TUNIT_IMAGE_FILE_COMPLETE;
    at += 12 + (gsize) length;
  }
}

/* Walks the markers of a JPEG up to EOI, skipping each segment by its
 * length and the entropy-coded data after each SOS; the size from SOFn. */
static TunitImageFileCheck
check_jpeg (const guint8 *data, gsize size, guint64 *width, guint64 *height)
{
  gsize at = 2;
  for (;;) {
    if (at >= size)
      return TUNIT_IMAGE_FILE_TRUNCATED;
    if (data[at] != 0xff)
      return TUNIT_IMAGE_FILE_MALFORMED;
    while (at < size && data[at] == 0xff)      /* fill bytes */
      at++;
    if (at >= size)
      return TUNIT_IMAGE_FILE_TRUNCATED;
    guint8 marker = data[at++];
    if (marker == 0xd9)                         /* EOI */
      return TUNIT_IMAGE_FILE_COMPLETE;
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
      continue;                                 /* no length */
    if (marker == 0x00 || marker == 0xd8)
      return TUNIT_IMAGE_FILE_MALFORMED;
    if (size - at < 2)
      return TUNIT_IMAGE_FILE_TRUNCATED;
    gsize length = (gsize) data[at] << 8 | data[at + 1];
    if (length < 2)
      return TUNIT_IMAGE_FILE_MALFORMED;
    if (size - at < length)
      return TUNIT_IMAGE_FILE_TRUNCATED;
    /* SOF0..SOF15 but DHT (c4), JPG (c8) and DAC (cc): precision, height, width */
    if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8
        && marker != 0xcc && length >= 7) {
      *height = (guint64) data[at + 3] << 8 | data[at + 4];
      *width = (guint64) data[at + 5] << 8 | data[at + 6];
    }
    at += length;
    if (marker != 0xda)
      continue;
    /* entropy-coded data: up to a 0xff that is not stuffing (ff 00) or a
     * restart marker */
    while (at + 1 < size && !(data[at] == 0xff && data[at + 1] != 0x00
                              && !(data[at + 1] >= 0xd0 && data[at + 1] <= 0xd7)))
      at++;
    if (at + 1 >= size)
      return TUNIT_IMAGE_FILE_TRUNCATED;
  }
}

TunitImageFileCheck
tunit_image_file_check (const guint8 *data, gsize size, guint64 *width, guint64 *height)
{
  *width = *height = 0;
  if (size >= 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0)
    return check_png (data, size, width, height);
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return check_jpeg (data, size, width, height);
  return TUNIT_IMAGE_FILE_OTHER;
}
