#ifndef CLIENTELE_CLIBPQ_SHIM_H
#define CLIENTELE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
