#include "distill.h"

#include <math.h>
#include <stddef.h>

double
is_distill_loss(const float *emb, const float *teacher, const unsigned char *has,
				int rows, int dim, float weight, float *grad)
{
	double		sum = 0.0;
	int			n = 0;

	for (int r = 0; r < rows; r++)
		n += !has || has[r];
	if (n == 0)
		return 0.0;
	for (int r = 0; r < rows; r++)
	{
		const float *e = emb + (size_t) r * dim,
				   *t = teacher + (size_t) r * dim;
		float	   *g = grad + (size_t) r * dim;
		double		et = 0.0,
					ee = 0.0,
					tt = 0.0,
					ne,
					nt,
					c;

		if (has && !has[r])
			continue;
		for (int i = 0; i < dim; i++)
		{
			et += (double) e[i] * t[i];
			ee += (double) e[i] * e[i];
			tt += (double) t[i] * t[i];
		}
		ne = sqrt(ee);
		nt = sqrt(tt);
		if (ne < 1e-12 || nt < 1e-12)
		{
			sum += 1.0;
			continue;
		}
		c = et / (ne * nt);
		sum += 1.0 - c;
		/* d(1 - cos)/de = -(t / (|e| |t|) - cos e / |e|^2), over the rows averaged */
		for (int i = 0; i < dim; i++)
			g[i] += (float) (weight / n * -(t[i] / (ne * nt) - c * e[i] / ee));
	}
	return weight * sum / n;
}
