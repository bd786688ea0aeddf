"""
The critic's L2 weight decay (``critic_weight_decay``, the DDPG paper's 1e-2), kept in the critic optimizer's parameter
groups through ``load()`` and ``set_parameters()``, which would otherwise restore the decay saved with the optimizer.
"""

import io
import pathlib
from typing import Any, TypeVar

import torch as th
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.type_aliases import GymEnv

from sb3_ddpg_ext.ddpg.policies import Critic

SelfWeightDecay = TypeVar("SelfWeightDecay", bound="CriticWeightDecayMixin")


class CriticWeightDecayMixin(OffPolicyAlgorithm):
    """``critic_weight_decay`` in the critic's optimizer, whatever was saved with it."""

    critic: Critic
    critic_weight_decay: float

    def _apply_critic_weight_decay(self, force: bool = False) -> None:
        """
        Set ``critic_weight_decay`` in the critic optimizer's parameter groups.

        :param force: also when it is 0 (by default 0 leaves the optimizer's own, e.g. from ``optimizer_kwargs``)
        """
        if self.critic_weight_decay > 0 or force:
            for group in self.critic.optimizer.param_groups:
                group["weight_decay"] = self.critic_weight_decay

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfWeightDecay],
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfWeightDecay:
        """
        Load a model saved with :meth:`save` (or by SB3's DDPG), checking the file first (see
        :class:`~sb3_ddpg_ext.common.save.AtomicSaveMixin`). A ``critic_weight_decay`` given in ``kwargs`` (or
        ``custom_objects``) is set in the critic's optimizer too, replacing the saved one.
        """
        model = super().load(path, env, device, custom_objects, print_system_info, force_reset, **kwargs)
        # load(critic_weight_decay=...) wins over the saved optimizer, also when it is 0
        given = {**(custom_objects or {}), **kwargs}
        model._apply_critic_weight_decay(force="critic_weight_decay" in given)
        return model

    def set_parameters(
        self,
        load_path_or_dict: str | dict[str, Any],
        exact_match: bool = True,
        device: th.device | str = "auto",
    ) -> None:
        """
        Load parameters (and optimizer states) as SB3 does, keeping this model's ``critic_weight_decay``
        (SB3 would restore the weight decay saved with the critic's optimizer).

        :param load_path_or_dict: Location of the saved data (path or file-like, see ``save``), or a dict
            of parameters as returned by ``get_parameters``
        :param exact_match: If True, the given parameters should include parameters for each
            module and each of their parameters, otherwise raises an Exception
        :param device: Device on which the code should run
        """
        super().set_parameters(load_path_or_dict, exact_match, device)
        self._apply_critic_weight_decay()
