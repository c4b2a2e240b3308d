"""Losses, frozen feature extractors, Dynamic Loss Adaptation and strict loading of given weight files
(which file, where it lives and how it is fetched: pretrained.backbone_weights; the scripts pass the paths).

Evaluation metrics live in evaluation/; the LPIPS network the metric scores with is built here
(build_lpips_alexnet) and handed over by the scripts."""
from .adversarial import discriminator_step_loss, gradient_penalty, relativistic_d_loss, relativistic_g_loss
from .alexnet import TextureFeatures, build_texture_features
from .color_distribution import color_distribution_loss
from .dla import dla_gradients
from .paired import build_dists, build_lpips_alexnet, build_lpips_plus
from .pixel import (
                          color_loss,
                          dped_blur_kernel,
                          gaussian_blur,
                          grayscale3,
                          mse_loss,
                          rgb_to_lab_l,
                          rgb_to_lab_l3,
                          tv_loss,
)
from .vgg import (
                          VGG19Relu54,
                          build_vgg19_relu54,
                          content_features,
                          content_loss,
                          content_loss_to_features,
                          read_matconvnet_convs,
)
from .vit import ColorFeatures, build_color_features
from .weight_loading import RandomWeightsWarning, WeightsMismatchError
