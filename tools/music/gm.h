/*
 * General MIDI vocabulary: program names, the 16 program families (which
 * Slakh2100 calls inst_class) and the mapping of a MIDI part to the paper's
 * instruments.  Slakh classifies a stem by its GM program alone, with every
 * channel-10 part as Drums; we do the same so that generated corpora and the
 * real Slakh agree on what "bass" means.
 */
#ifndef INSTSIM_GM_H
#define INSTSIM_GM_H

#include <stdbool.h>

#define GM_DRUM_CHANNEL 9		/* MIDI channel 10, counted from 0 */

/* GM level-1 program name of program 0..127; "" outside that range. */
const char *gm_program_name(int program);

/* inst_class string as Slakh writes it ("Piano", "Bass", "Drums", ...). */
const char *gm_inst_class(int program, bool is_drum);

#endif
