/*
 * The input transform of Winograd F(2x2, 3x3) for one 4x4 tile of DVL
 * channels, shared by the convolution (conv_wino.h) and the trainer's
 * weight gradient (src/train/conv_wgrad_wino.h), so that both see the same
 * V.  Needs the vector vocabulary (DV, D_LOAD, D_ADD, D_SUB, D_TARGET).
 */
#ifndef CONV_WINO2_TF_H
#define CONV_WINO2_TF_H

/* v[4 i + j] = (B^T d B)[i][j] for the 4x4 pixels from base, rows `row` floats apart. */
D_TARGET static inline __attribute__((always_inline)) void
wino2_input_tile(const float *base, size_t row, DV v[16])
{
	DV			r[4][4];

#pragma GCC unroll 4
	for (int j = 0; j < 4; j++)
	{
		DV			d0 = D_LOAD(base + j * DVL),
					d1 = D_LOAD(base + row + j * DVL),
					d2 = D_LOAD(base + 2 * row + j * DVL),
					d3 = D_LOAD(base + 3 * row + j * DVL);

		r[0][j] = D_SUB(d0, d2);
		r[1][j] = D_ADD(d1, d2);
		r[2][j] = D_SUB(d2, d1);
		r[3][j] = D_SUB(d1, d3);
	}
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++)
	{
		v[4 * i] = D_SUB(r[i][0], r[i][2]);
		v[4 * i + 1] = D_ADD(r[i][1], r[i][2]);
		v[4 * i + 2] = D_SUB(r[i][2], r[i][1]);
		v[4 * i + 3] = D_SUB(r[i][1], r[i][3]);
	}
}

#endif
