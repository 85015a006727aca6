// Non-variadic wrappers over the libvips calls Pictor uses.
// Swift cannot call C variadic functions, and libvips takes its options as
// NULL-terminated varargs; each wrapper below fixes the options it needs.
#ifndef PICTOR_CVIPS_SHIM_H
#define PICTOR_CVIPS_SHIM_H

#include <stddef.h>
#include <vips/vips.h>

/// Starts libvips once per process. Returns 0 on success.
int pictor_vips_start(const char *argv0, int concurrency);
/// 1 when libvips runs run-time compiled vector code (orc); Pictor turns it off.
int pictor_vips_vectorised(void);

/// Loads an image header from an encoded buffer. The bytes are copied and
/// owned by the image; pixels are decoded lazily. Returns NULL on error.
VipsImage *pictor_vips_load(const void *bytes, size_t length);

/// The libvips loader that recognises these bytes ("VipsForeignLoadPngBuffer", …), or NULL.
const char *pictor_vips_loader_name(const void *bytes, size_t length);

int pictor_vips_autorotate(VipsImage *in, VipsImage **out);
/// Converts to sRGB: through the embedded ICC profile when there is one, else by colourspace.
int pictor_vips_to_srgb(VipsImage *in, VipsImage **out);
int pictor_vips_cast_uchar(VipsImage *in, VipsImage **out);
/// A shallow copy whose metadata can be changed without touching `in`.
int pictor_vips_copy(VipsImage *in, VipsImage **out);
/// A copy of the pixels with no metadata at all, tagged sRGB (or B_W for 1–2 bands).
VipsImage *pictor_vips_pixels_only(VipsImage *in);
/// Fits inside width × height, never enlarging.
int pictor_vips_thumbnail(VipsImage *in, VipsImage **out, int width, int height);

/// With `strip` set, no metadata item is written. Pictor always strips and adds its XMP packet
/// itself (XMPEmbedding); tests save unstripped files to stand in for camera images.
int pictor_vips_save_png(VipsImage *in, void **buffer, size_t *length, int compression, int strip);
int pictor_vips_save_jpeg(VipsImage *in, void **buffer, size_t *length, int quality, int strip);
int pictor_vips_save_webp(VipsImage *in, void **buffer, size_t *length, int quality, int effort, int lossless, int strip);

/// The last libvips error message (copied, then the buffer is cleared). Free with pictor_vips_free.
char *pictor_vips_take_error(void);
void pictor_vips_unref(VipsImage *image);
void pictor_vips_free(void *pointer);

#endif
