"""Publishing: packet pages, the night's index and the run's reports (contract §4)."""
from duanka.publish.mask import mask_account, mask_id, mask_phone, mask_text
from duanka.publish.publisher import PublishReport, publish

__all__ = ["PublishReport", "mask_account", "mask_id", "mask_phone", "mask_text", "publish"]
