# 알림 — 한국어. 짝: locales/en-US/notification.ftl.
# 알림 패널과 알림 메시지(notifications-*, notify-*)는 main.ftl 에 있습니다.

## /umbra notifications

notifications-locale-cleared = 앞으로 서버의 언어로, 정해져 있지 않으면 영어로 연락드립니다.
notifications-locale-auto = 자동 (서버의 언어, 없으면 영어)
notifications-button-dms-on = DM 켜기
notifications-button-dms-off = DM 끄기
