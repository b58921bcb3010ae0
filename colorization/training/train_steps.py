"""The distributed training steps: one code path for every tf.distribute strategy.

Each step runs a replica function with `strategy.run` on a batch (inputs, ab, mask):
the inputs are L_norm, or for a hinted generator L_norm and the hint channels
(`data_pipeline.hints`), whose first channel is L. Per-example losses are averaged
with `tf.nn.compute_average_loss(..., global_batch_size=...)`, so the gradients the
optimizer sums over replicas are those of the mean over the global batch; the losses
returned are reduced with `strategy.reduce(SUM)` and are global means too.
"""

import keras
import tensorflow as tf

from colorization.models import is_hinted
from colorization.models.layers import nested_layers
from colorization.training import losses
from data_pipeline import hints


def synchronize_batch_norm(model, strategy=None, force=False):
    """Makes every BatchNormalization layer of `model` compute its batch moments
    over the global batch (all replicas and workers) and returns their number.

    Without this each replica normalises and updates its moving statistics with
    its own slice of the batch: training then differs from one device, and the
    workers of a multi-worker run end with different moving statistics. With one
    replica there is nothing to synchronise: the plain layer is kept (its two-pass
    moments round differently from the synchronised sums; the speed was the same
    within noise, `benchmarks/train_step.py --compare-sync-bn`) and 0 is returned.
    Call it inside the strategy's scope, before the first step.

    Args:
        model: The model.
        strategy: The strategy it trains under (default: the current one).
        force: Synchronise even with one replica (to compare one device with
            many computing the same moments the same way).
    """
    strategy = strategy or tf.distribute.get_strategy()
    if strategy.num_replicas_in_sync == 1 and not force:
        return 0
    layers = [
        layer
        for layer in nested_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    for layer in layers:
        layer.synchronized = True
    return len(layers)


def make_optimizer(train_config, lr, fp16):
    """Adam with the config's betas and optional exponential decay per step.

    Args:
        train_config: A TrainConfig.
        lr: The initial learning rate.
        fp16: Wrap it in a `keras.optimizers.LossScaleOptimizer`.
    """
    if train_config.lr_decay_rate is not None:
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr, train_config.lr_decay_steps, train_config.lr_decay_rate
        )
    optimizer = keras.optimizers.Adam(
        learning_rate=lr, beta_1=train_config.beta_1, beta_2=train_config.beta_2
    )
    return keras.optimizers.LossScaleOptimizer(optimizer) if fp16 else optimizer


def _descend(optimizer, tape, loss, model):
    variables = model.trainable_variables
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))


def _labels(label):
    return tuple(label) if isinstance(label, list) else label


def reconstruction(generator, loss_config, class_weights=None):
    """The generator's forward pass and its per-example reconstruction loss.

    Returns a function `(l_norm, ab, mask) -> (per_example_loss, predicted_ab)` for
    training. With the "bins" loss the pass also reads the logits of the bins head
    (layer "ab_logits") and needs the rebalancing `class_weights`; with "bins_l1" it
    also reads the regression head (layer "ab_l1") of a two-head generator. With
    `loss_config.cast_weight` the global cast of the output (`losses.masked_cast`)
    is added.
    """
    forward = _reconstruction(generator, loss_config, class_weights)
    weight = loss_config.cast_weight
    if not weight:
        return forward

    def with_cast(l_norm, ab, mask):
        loss, pred = forward(l_norm, ab, mask)
        return loss + weight * losses.masked_cast(ab, pred, mask), pred

    return with_cast


def _reconstruction(generator, loss_config, class_weights):
    if loss_config.recon not in losses.CLASSIFICATION_KINDS:
        recon_fn = losses.RECON_LOSSES[loss_config.recon]

        def regression(l_norm, ab, mask):
            pred = generator(l_norm, training=True)
            return recon_fn(ab, pred, mask), pred

        return regression
    if class_weights is None:
        raise ValueError(f"the {loss_config.recon!r} loss needs the class weights")
    dual = loss_config.recon == losses.BINS_L1
    heads = [generator.get_layer("ab_logits").output, generator.output]
    if dual:
        heads.append(generator.get_layer("ab_l1").output)
    forward = keras.Model(generator.inputs, heads)
    centres = tf.constant(
        next(layer.centres for layer in generator.layers if hasattr(layer, "centres"))
    )
    class_weights = tf.constant(class_weights, tf.float32)

    def classification(l_norm, ab, mask):
        logits, pred, *l1_head = forward(l_norm, training=True)
        loss = losses.rebalanced_bin_loss(ab, logits, mask, centres, class_weights)
        if dual:
            loss += loss_config.l1_weight * losses.masked_l1(ab, l1_head[0], mask)
        return loss, pred

    return classification


def make_steps(
    strategy,
    generator,
    discriminator,
    g_opt,
    d_opt,
    loss_config,
    global_batch,
    jit,
    class_weights=None,
):
    """Builds the reconstruction step and (with a discriminator) the GAN step.

    Args:
        strategy: The `tf.distribute.Strategy` the models were built under.
        generator: The generator.
        discriminator: The discriminator, or None.
        g_opt: The generator's optimizer.
        d_opt: The discriminator's optimizer, or None.
        loss_config: A LossConfig.
        global_batch: The global batch size.
        jit: Compile each replica step with XLA.
        class_weights: (Q,) rebalancing weights for the "bins" loss.

    Returns:
        `(plain_step, gan_step)`: functions of a distributed (L, ab, mask) batch
        returning a dict of scalar global means; `gan_step` is None without a
        discriminator.
    """
    forward = reconstruction(generator, loss_config, class_weights)

    def average(per_example):
        return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)

    def plain(l_norm, ab, mask):
        with tf.GradientTape() as tape:
            per_example, pred = forward(l_norm, ab, mask)
            recon = average(per_example)
            scaled = g_opt.scale_loss(recon)
        _descend(g_opt, tape, scaled, generator)
        l1 = average(losses.masked_l1(ab, pred, mask))
        return {"loss": recon, "recon": recon, "l1": l1}

    def gan(l_norm, ab, mask):
        kind = loss_config.gan
        w = loss_config.lam if loss_config.weighting == "lambda" else loss_config.w
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            pred = generator(l_norm, training=True)
            # Padding is masked out of the fake too, so it cannot give it away.
            fake_ab = tf.cast(pred, tf.float32) * mask
            lightness = l_norm[..., :1]  # the discriminator never sees the hints
            real_logits = discriminator(tf.concat([lightness, ab], -1), training=True)
            fake_logits = discriminator(
                tf.concat([lightness, fake_ab], -1), training=True
            )
            d_total, _, _ = losses.discriminator_loss(
                real_logits,
                fake_logits,
                kind,
                _labels(loss_config.real_label),
                _labels(loss_config.fake_label),
            )
            g_total, g_adv, g_recon = losses.generator_loss(
                fake_logits,
                pred,
                ab,
                mask,
                kind,
                loss_config.recon,
                w,
                loss_config.weighting,
            )
            g_loss, d_loss = average(g_total), average(d_total)
            g_scaled, d_scaled = g_opt.scale_loss(g_loss), d_opt.scale_loss(d_loss)
        _descend(g_opt, g_tape, g_scaled, generator)
        _descend(d_opt, d_tape, d_scaled, discriminator)
        return {
            "loss": g_loss,
            "recon": average(g_recon),
            "l1": average(losses.masked_l1(ab, pred, mask)),
            "g_adv": average(g_adv),
            "d_loss": d_loss,
            "d_acc_real": average(losses.d_accuracy(real_logits, True, kind)),
            "d_acc_fake": average(losses.d_accuracy(fake_logits, False, kind)),
        }

    def distributed(replica_fn):
        replica_fn = tf.function(replica_fn, jit_compile=jit)

        @tf.function
        def step(batch):
            out = strategy.run(replica_fn, args=batch)
            return {
                k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in out.items()
            }

        return step

    gan_step = distributed(gan) if discriminator is not None else None
    return distributed(plain), gan_step


def make_predict(generator):
    """A compiled inference function L -> ab in float32 (for validation); a hinted
    generator is given no hints, so validation scores the automatic colorization."""
    hinted = is_hinted(generator)

    @tf.function
    def predict(l_norm):
        if hinted and l_norm.shape[-1] == 1:
            l_norm = hints.no_hints(l_norm)
        return tf.cast(generator(l_norm, training=False), tf.float32)

    return predict
