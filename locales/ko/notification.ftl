# 알림 — 한국어. 짝: locales/en-US/notification.ftl.
# 알림 패널과 알림 메시지(notifications-*, notify-*)는 main.ftl 에 있습니다.

## /umbra notifications

notifications-locale-cleared = 앞으로 서버의 언어로, 정해져 있지 않으면 영어로 연락드립니다.
notifications-locale-auto = 자동 (서버의 언어, 없으면 영어)
notifications-button-dms-on = DM 켜기
notifications-button-dms-off = DM 끄기
notify-payment-receipt = **{ $guild }** 의 결제가 완료되었습니다. **{ $plan }** 요금제, ₩{ $amount }, { $until }까지 이용할 수 있습니다. 영수증: { $receipt }
notify-payment-failed = **{ $guild }** 의 **{ $plan }** 요금제 결제가 거절되었습니다({ $code }). 며칠 뒤 다시 시도합니다. 다른 카드를 쓰려면 대시보드의 요금제 페이지에서 "카드 변경"을 눌러 주세요.
notify-subscription-expired = 결제가 계속 실패해 **{ $guild }** 의 **{ $plan }** 구독이 끝났습니다. 이제 기본 요금제가 적용됩니다. 요금제 페이지에서 다시 구독할 수 있습니다.
notify-subscription-canceled = 요청하신 대로 **{ $guild }** 의 **{ $plan }** 구독이 끝났습니다. 더 이상 결제되지 않습니다.
