#ifndef PICTOR_CVIPS_H
#define PICTOR_CVIPS_H
#include <vips/vips.h>
#endif
