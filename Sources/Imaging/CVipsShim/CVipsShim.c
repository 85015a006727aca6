#include "CVipsShim.h"
#include <vips/vector.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static void drop_log_message(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data) {
    (void) domain; (void) level; (void) message; (void) data;
}

static void free_owned_bytes(VipsImage *image, void *bytes);

int pictor_vips_start(const char *argv0, int concurrency) {
    if (VIPS_INIT(argv0) != 0) {
        return -1;
    }
    if (concurrency > 0) {
        vips_concurrency_set(concurrency);
    }
    // No run-time compiled vector code (orc). With orc 0.4.33 (Debian 12), two threads
    // freeing resize operations at once corrupt orc's code allocator: "double free or
    // corruption" within seconds when eight threads make thumbnails, none in five minutes
    // without it, and no thumbnail is measurably slower (docs/PERFORMANCE.md, 2026-12-02).
    vips_vector_set_enabled(FALSE);
    // Every image is processed once: the operation cache would only hold memory.
    vips_cache_set_max(0);
    // libvips also prints warnings (e.g. "IHDR: CRC error") for damaged uploads; the
    // failure reaches Pictor through the error buffer, so the stderr copy is dropped.
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, drop_log_message, NULL);
    return 0;
}

int pictor_vips_vectorised(void) {
    return vips_vector_isenabled() ? 1 : 0;
}

static void free_owned_bytes(VipsImage *image, void *bytes) {
    (void) image;
    g_free(bytes);
}

VipsImage *pictor_vips_load(const void *bytes, size_t length) {
    void *owned = g_memdup2(bytes, length);
    if (owned == NULL) {
        return NULL;
    }
    VipsImage *image = vips_image_new_from_buffer(owned, length, "",
        "fail_on", VIPS_FAIL_ON_ERROR,
        NULL);
    if (image == NULL) {
        g_free(owned);
        return NULL;
    }
    g_signal_connect(image, "postclose", G_CALLBACK(free_owned_bytes), owned);
    return image;
}

const char *pictor_vips_loader_name(const void *bytes, size_t length) {
    const char *name = vips_foreign_find_load_buffer(bytes, length);
    if (name == NULL) {
        vips_error_clear();
    }
    return name;
}

int pictor_vips_autorotate(VipsImage *in, VipsImage **out) {
    return vips_autorot(in, out, NULL);
}

int pictor_vips_to_srgb(VipsImage *in, VipsImage **out) {
    if (vips_image_get_typeof(in, VIPS_META_ICC_NAME) != 0) {
        if (vips_icc_transform(in, out, "srgb", "embedded", TRUE, NULL) == 0) {
            return 0;
        }
        // A broken embedded profile: fall back to a plain colourspace conversion.
        vips_error_clear();
    }
    if (in->Bands <= 2 && (in->Type == VIPS_INTERPRETATION_B_W || in->Type == VIPS_INTERPRETATION_GREY16)) {
        return vips_colourspace(in, out, VIPS_INTERPRETATION_B_W, NULL);
    }
    return vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, NULL);
}

int pictor_vips_cast_uchar(VipsImage *in, VipsImage **out) {
    if (in->BandFmt == VIPS_FORMAT_UCHAR) {
        return vips_copy(in, out, NULL);
    }
    return vips_cast(in, out, VIPS_FORMAT_UCHAR, "shift", in->BandFmt == VIPS_FORMAT_USHORT, NULL);
}

int pictor_vips_copy(VipsImage *in, VipsImage **out) {
    return vips_copy(in, out, NULL);
}

VipsImage *pictor_vips_pixels_only(VipsImage *in) {
    size_t size = 0;
    void *pixels = vips_image_write_to_memory(in, &size);
    if (pixels == NULL) {
        return NULL;
    }
    // Wrap the decoded buffer without a second copy; the image frees it when closed.
    VipsImage *image = vips_image_new_from_memory(pixels, size,
        vips_image_get_width(in), vips_image_get_height(in),
        vips_image_get_bands(in), VIPS_FORMAT_UCHAR);
    if (image == NULL) {
        g_free(pixels);
        return NULL;
    }
    g_signal_connect(image, "postclose", G_CALLBACK(free_owned_bytes), pixels);
    image->Type = vips_image_get_bands(in) <= 2 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
    return image;
}

int pictor_vips_thumbnail(VipsImage *in, VipsImage **out, int width, int height) {
    double scale = fmin((double) width / vips_image_get_width(in), (double) height / vips_image_get_height(in));
    if (scale >= 1.0) {
        return vips_copy(in, out, NULL);
    }
    // vips_resize shrinks by the integer part with a box filter, then resamples the rest.
    // The linear kernel is several times faster than lanczos3 and looks the same at thumbnail size.
    return vips_resize(in, out, scale, "kernel", VIPS_KERNEL_LINEAR, NULL);
}

int pictor_vips_save_png(VipsImage *in, void **buffer, size_t *length, int compression, int strip) {
    return vips_pngsave_buffer(in, buffer, length,
        "compression", compression,
        "filter", compression <= 1 ? VIPS_FOREIGN_PNG_FILTER_NONE : VIPS_FOREIGN_PNG_FILTER_ALL,
        "strip", strip ? TRUE : FALSE,
        NULL);
}

int pictor_vips_save_jpeg(VipsImage *in, void **buffer, size_t *length, int quality, int strip) {
    return vips_jpegsave_buffer(in, buffer, length,
        "Q", quality,
        "optimize_coding", TRUE,
        "strip", strip ? TRUE : FALSE,
        NULL);
}

int pictor_vips_save_webp(VipsImage *in, void **buffer, size_t *length, int quality, int effort, int lossless, int strip) {
    return vips_webpsave_buffer(in, buffer, length,
        "Q", quality,
        "effort", effort,
        "lossless", lossless ? TRUE : FALSE,
        "strip", strip ? TRUE : FALSE,
        NULL);
}

char *pictor_vips_take_error(void) {
    char *message = g_strdup(vips_error_buffer());
    vips_error_clear();
    return message;
}

void pictor_vips_unref(VipsImage *image) {
    if (image != NULL) {
        g_object_unref(image);
    }
}

void pictor_vips_free(void *pointer) {
    g_free(pointer);
}
