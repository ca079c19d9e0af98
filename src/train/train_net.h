/*
 * Training mode for an is_net (nn.h): forward with batch statistics and
 * backward for every layer kind, as PyTorch computes them in train() mode.
 *
 * Batch-norm normalises with the batch mean and biased variance and moves its
 * running statistics towards the batch ones (momentum 0.1, unbiased variance,
 * as torch.nn.BatchNorm2d).  Convolutions run on our own kernels (the
 * inference ones for the output and the input gradient, conv_wgrad.h for the
 * weights) over activations kept in the kernels' channel-blocked layout
 * (train_internal.h); the network must end in vector layers (after a gap).
 *
 * One trainer holds an arena with every activation for up to max_batch inputs
 * and per-worker scratch, allocated by is_train_create: forward and backward
 * allocate nothing.  Work is split over the batch between `threads` workers;
 * their partial sums are reduced in worker order, so results depend on the
 * seed and the thread count only.
 */
#ifndef INSTSIM_TRAIN_NET_H
#define INSTSIM_TRAIN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#define IS_BN_MOMENTUM 0.1f

typedef struct is_train is_train;

/*
 * The trainer keeps a pointer to net: the parameters it reads are net's, and
 * the caller updates them (e.g. with Adam) between steps.  NULL with a
 * message on bad arguments or when memory runs out.
 */
is_train   *is_train_create(is_net *net, int max_batch, int threads,
							char *err, size_t errlen);
void		is_train_free(is_train *t);
size_t		is_train_arena_bytes(const is_train *t);

/*
 * Forward pass of n <= max_batch inputs (n x in_c x in_h x in_w) with batch
 * statistics; updates the running statistics when update_running is set.
 * Returns the n x out_dim outputs, valid until the next forward.
 */
const float *is_train_forward(is_train *t, const float *in, int n, int update_running);

/*
 * Backward of the last forward: dout is dL/doutput (n x out_dim).  grad (the
 * layout of net->params, net->n_floats) receives dL/dparams; running
 * statistics get 0.  The backward consumes the forward (it works in place over
 * stored activations): once per forward.  Returns 0, or -1 (grad untouched)
 * when there is no forward to go back through.
 */
int			is_train_backward(is_train *t, const float *dout, float *grad);

/*
 * Hints (FitNets): a teacher's feature map pulls on the map that the
 * network's first `block` conv blocks write, which its next conv block
 * reads.  is_train_block_floats: floats per input of that map (c x h x w),
 * 0 when no conv block follows `block` of them.  is_train_block_output:
 * after a forward, its n maps as dense NCHW (0, or -1 as
 * is_train_block_floats's 0).  is_train_backward_hint: is_train_backward
 * with dmap (n dense maps) added to the gradient w.r.t. that map.
 */
size_t		is_train_block_floats(const is_train *t, int block);
int			is_train_block_output(const is_train *t, int block, float *out);
int			is_train_backward_hint(is_train *t, const float *dout, int block, const float *dmap,
								   float *grad);

/* Whether the i-th parameter tensor (is_net_tensor order) is trained. */
int			is_net_tensor_trained(const is_net *net, int i);

/*
 * PyTorch's default initialisation from a seed: conv and linear weights and
 * biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)); batch-norm weight 1, bias 0,
 * running mean 0, running variance 1.
 */
void		is_net_init_params(is_net *net, uint64_t seed);


#endif
