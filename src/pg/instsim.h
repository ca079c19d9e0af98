/* Declarations shared across the server-side modules. */
#ifndef INSTSIM_H
#define INSTSIM_H

/* Registers every instsim.* GUC; defined in gucs.c. */
extern void instsim_init_gucs(void);

#endif
